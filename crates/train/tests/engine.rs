//! The training engine driven directly, as online methods drive it: method state in
//! checkpoints, skipped steps, host metrics, failing steps.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use train::{LrSchedule, StepOutput, TrainError, Trainer, TrainerConfig};

fn device() -> Device {
    lm::select_device().expect("a device").autodiff()
}

#[derive(Module, Debug)]
struct Tiny {
    lin: Linear,
}

fn tiny(seed_shift: f32) -> Tiny {
    let d = device();
    let mut lin = LinearConfig::new(3, 1).init(&d);
    lin.weight = burn::module::Param::from_tensor(Tensor::<2>::from_floats(
        [[0.5 + seed_shift], [-0.25], [1.0]],
        &d,
    ));
    Tiny { lin }
}

fn loss(model: &Tiny) -> Tensor<1> {
    let x = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0]], &device());
    model.lin.forward(x).powi_scalar(2).mean()
}

fn config(total: usize) -> TrainerConfig {
    TrainerConfig {
        total_steps: total,
        schedule: LrSchedule::cosine(0.05, 2, total, 0.1),
        save_every: 0,
        log_every: 2,
        ..TrainerConfig::default()
    }
}

fn weights(m: &Tiny) -> Vec<f32> {
    m.lin.weight.val().try_into_vec_as::<f32>().unwrap()
}

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct State {
    iteration: usize,
    beta: f64,
}

#[test]
fn method_state_round_trips_through_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::open(tiny(0.0), &config(6), dir.path(), "t").unwrap();
    assert_eq!(t.method_state::<State>().unwrap(), None);
    for _ in 0..3 {
        t.optimizer_step(|m, _| Ok::<_, TrainError>(StepOutput::new(loss(m))))
            .unwrap();
    }
    let state = State {
        iteration: 3,
        beta: 0.07,
    };
    t.checkpoint(&state).unwrap();
    let want = weights(t.model());
    drop(t);
    let t = Trainer::open(tiny(9.0), &config(6), dir.path(), "t").unwrap();
    assert_eq!(t.step(), 3);
    assert_eq!(t.resumed_from(), 3);
    assert_eq!(t.method_state::<State>().unwrap(), Some(state));
    assert_eq!(weights(t.model()), want);
    // A state of another shape is an error naming the checkpoint.
    let e = t.method_state::<Vec<u8>>().unwrap_err().to_string();
    assert!(
        e.contains("state.json") && e.contains("method state"),
        "{e}"
    );
}

#[test]
fn skipped_steps_keep_the_schedule_on_course() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(8);
    let mut t = Trainer::open(tiny(0.0), &cfg, dir.path(), "t").unwrap();
    t.optimizer_step(|m, _| Ok::<_, TrainError>(StepOutput::new(loss(m))))
        .unwrap();
    let before = weights(t.model());
    t.skip_steps(3);
    assert_eq!(t.step(), 4);
    assert_eq!(weights(t.model()), before, "skipping does not update");
    assert_eq!(t.lr(), cfg.schedule.lr(4));
    t.skip_steps(100);
    assert!(t.is_done());
    assert_eq!(t.step(), 8);
}

#[test]
fn host_and_device_metrics_are_averaged_over_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::open(tiny(0.0), &config(4), dir.path(), "t").unwrap();
    let mut losses = Vec::new();
    for i in 0..2 {
        losses.push(loss(t.model()).into_scalar::<f32>() as f64);
        t.optimizer_step(|m, _| {
            Ok::<_, TrainError>(StepOutput::new(loss(m)).with_metric(
                format!("run/{}", "x"),
                Tensor::from_floats([i as f32], &device()),
            ))
        })
        .unwrap();
        t.record("rollout/len", 10.0 * (i + 1) as f64);
    }
    assert!(t.log_due());
    let values = t.flush_log().unwrap();
    let get = |k: &str| values.iter().find(|(n, _)| n == k).unwrap().1;
    assert!((get("loss") - (losses[0] + losses[1]) / 2.0).abs() < 1e-6);
    assert_eq!(get("run/x"), 0.5);
    assert_eq!(get("rollout/len"), 15.0);
    let out = t.finish().unwrap();
    assert_eq!(out.records.len(), 1);
    assert!(dir.path().join(train::PLOT_FILE).is_file());
}

#[test]
fn a_failing_step_leaves_the_model_and_a_nan_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Trainer::open(tiny(0.0), &config(4), dir.path(), "t").unwrap();
    let before = weights(t.model());
    let e = t
        .optimizer_step(|_, _| -> Result<StepOutput, TrainError> {
            Err(TrainError::Data("bad batch".into()))
        })
        .unwrap_err();
    assert!(e.to_string().contains("bad batch"));
    assert_eq!(weights(t.model()), before);
    assert_eq!(t.step(), 0);
    t.optimizer_step(|m, _| Ok::<_, TrainError>(StepOutput::new(loss(m))))
        .unwrap();
    let ckpt = t.checkpoint(&()).unwrap();
    let e = t
        .optimizer_step(|m, _| Ok::<_, TrainError>(StepOutput::new(loss(m) * f64::NAN)))
        .unwrap_err();
    match e {
        TrainError::NonFinite {
            step,
            what,
            last_checkpoint,
            ..
        } => {
            assert_eq!((step, what), (2, "loss"));
            assert_eq!(last_checkpoint, Some(ckpt));
        }
        other => panic!("unexpected {other}"),
    }
}
