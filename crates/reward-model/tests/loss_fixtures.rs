//! The losses against values and gradients computed with PyTorch by
//! `scripts/make_rm_fixtures.py` (fixtures in `tests/fixtures/losses.json`), to 1e-5.

use burn::tensor::{Device, Tensor, TensorData};
use reward_model::loss::{
    PairwiseLossConfig, PairwiseLossKind, instructgpt_pairwise, plackett_luce_nll,
};
use serde_json::Value;

const TOL: f64 = 1e-5;

fn fixtures() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/losses.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn device() -> Device {
    lm::select_device().unwrap().autodiff()
}

fn leaf(v: &[f32]) -> Tensor<1> {
    Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device()).require_grad()
}

fn plain(v: &[f32]) -> Tensor<1> {
    Tensor::<1>::from_data(TensorData::new(v.to_vec(), [v.len()]), &device())
}

fn close(name: &str, what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{name}: {what} length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let tol = TOL * (1.0 + w.abs() as f64);
        assert!(
            ((g - w).abs() as f64) <= tol,
            "{name}: {what}[{i}] = {g}, PyTorch {w}"
        );
    }
}

#[test]
fn pairwise_losses_match_pytorch() {
    let all = fixtures();
    let cases = all["pairwise"].as_array().unwrap();
    assert!(cases.len() >= 8);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let chosen = floats(&case["chosen"]);
        let b = chosen.len();
        let (rc, rr) = (leaf(&chosen), leaf(&floats(&case["rejected"])));
        let kind = match case["kind"].as_str().unwrap() {
            "soft_label" => PairwiseLossKind::SoftLabel,
            _ => PairwiseLossKind::BradleyTerry,
        };
        let opt = |key: &str, default: f32| match &case[key] {
            Value::Null => vec![default; b],
            v => floats(v),
        };
        let loss = PairwiseLossConfig {
            kind,
            use_margin: !case["margin"].is_null(),
            center_rewards_coefficient: case["center_rewards_coefficient"].as_f64().unwrap(),
        }
        .init()
        .unwrap();
        let out = loss.forward(
            rc.clone(),
            rr.clone(),
            plain(&opt("p_chosen", 1.0)),
            plain(&opt("margin", 0.0)),
            plain(&opt("weight", 1.0)),
        );
        let want = |k: &str| case[k].as_f64().unwrap() as f32;
        close(
            name,
            "preference",
            &[out.preference.into_scalar::<f32>()],
            &[want("preference")],
        );
        if let Some(c) = out.centering {
            close(
                name,
                "centering",
                &[c.into_scalar::<f32>()],
                &[want("centering")],
            );
        }
        let grads = out.loss.clone().backward();
        close(
            name,
            "loss",
            &[out.loss.into_scalar::<f32>()],
            &[want("loss")],
        );
        let g = |t: &Tensor<1>| -> Vec<f32> { t.grad(&grads).unwrap().try_into_vec_as().unwrap() };
        close(name, "grad_chosen", &g(&rc), &floats(&case["grad_chosen"]));
        close(
            name,
            "grad_rejected",
            &g(&rr),
            &floats(&case["grad_rejected"]),
        );
    }
}

#[test]
fn ranking_losses_match_pytorch() {
    let all = fixtures();
    let cases = all["ranking"].as_array().unwrap();
    assert!(cases.len() >= 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let rows: Vec<Vec<f32>> = case["rewards"]
            .as_array()
            .unwrap()
            .iter()
            .map(floats)
            .collect();
        let (b, k) = (rows.len(), rows[0].len());
        let flat: Vec<f32> = rows.concat();
        let r = Tensor::<2>::from_data(TensorData::new(flat, [b, k]), &device()).require_grad();
        let weight = match &case["weight"] {
            Value::Null => None,
            v => Some(plain(&floats(v))),
        };
        let loss = match case["kind"].as_str().unwrap() {
            "plackett_luce" => {
                let top = case["top"].as_u64().map(|t| t as usize);
                plackett_luce_nll(r.clone(), top, weight)
            }
            "instructgpt" => instructgpt_pairwise(r.clone(), weight),
            other => panic!("unknown kind {other}"),
        };
        let grads = loss.clone().backward();
        let want = case["loss"].as_f64().unwrap() as f32;
        close(name, "loss", &[loss.into_scalar::<f32>()], &[want]);
        let got: Vec<f32> = r.grad(&grads).unwrap().try_into_vec_as().unwrap();
        let want: Vec<f32> = case["grad_rewards"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(floats)
            .collect();
        close(name, "grad_rewards", &got, &want);
    }
}
