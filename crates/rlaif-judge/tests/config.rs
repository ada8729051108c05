//! Grader configurations: errors naming file, grader and field; TOML and JSON round trips.

use rlaif_judge::grader::{
    BuildContext, ConfigFormat, GraderConfig, build_graders, graders_to_json, graders_to_toml,
    load_graders, parse_graders,
};

const SEVERAL: &str = r#"
[[graders]]
type = "string_check"
name = "exact"
input = "{{ sample.output_text }}"
reference = "{{ item.reference_answer }}"
operation = "neq"

[[graders]]
type = "text_similarity"
name = "bleu"
input = "{{ sample.output_text }}"
reference = "{{ item.reference_answer }}"
evaluation_metric = "bleu"
pass_threshold = 0.3

[[graders]]
type = "label_model"
name = "judge"
input = [
  { role = "system", content = "Is the answer right? Say yes or no." },
  { role = "user", content = "{{ sample.output_text }} / {{ item.reference_answer }}" },
]
labels = ["yes", "no"]
passing_labels = ["yes"]
sampling_params = { temperature = 0.0, max_tokens = 4 }

[[graders]]
type = "program"
name = "tests"
command = ["python3", "grade.py"]
timeout_secs = 2.5

[[graders]]
type = "numeric"
name = "num"
reference = "{{ item.answer }}"
rel_tolerance = 0.01

[[graders]]
type = "regex"
name = "format"
pattern = "^Answer: "
mode = "search"

[[graders]]
type = "json_field"
name = "field"
path = "/answer"
value = "{{ item.answer }}"

[[graders]]
type = "multiple_choice"
name = "mc"
reference = "{{ item.letter }}"

[[graders]]
type = "multi"
name = "combo"
calculate_output = "0.5 * a + 0.5 * b"
[graders.graders.a]
type = "string_check"
input = "{{ sample.output_text }}"
reference = "x"
operation = "ilike"
[graders.graders.b]
type = "text_similarity"
input = "{{ sample.output_text }}"
reference = "x"
evaluation_metric = "rouge_l"
"#;

fn err(text: &str, format: ConfigFormat) -> String {
    parse_graders(text, format, "g.cfg")
        .unwrap_err()
        .to_string()
}

#[test]
fn toml_and_json_round_trip() {
    let configs = parse_graders(SEVERAL, ConfigFormat::Toml, "several.toml").unwrap();
    assert_eq!(configs.len(), 9);
    let kinds: Vec<&str> = configs.iter().map(GraderConfig::kind).collect();
    assert_eq!(
        kinds,
        [
            "string_check",
            "text_similarity",
            "label_model",
            "program",
            "numeric",
            "regex",
            "json_field",
            "multiple_choice",
            "multi"
        ]
    );
    let toml = graders_to_toml(&configs).unwrap();
    assert_eq!(
        parse_graders(&toml, ConfigFormat::Toml, "out.toml").unwrap(),
        configs
    );
    let json = graders_to_json(&configs);
    assert_eq!(
        parse_graders(&json, ConfigFormat::Json, "out.json").unwrap(),
        configs
    );
    // Files: by extension.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("g.json"), &json).unwrap();
    std::fs::write(dir.path().join("g.toml"), &toml).unwrap();
    assert_eq!(load_graders(dir.path().join("g.json")).unwrap(), configs);
    assert_eq!(load_graders(dir.path().join("g.toml")).unwrap(), configs);
    assert!(load_graders(dir.path().join("g.yaml")).is_err());
    let e = load_graders(dir.path().join("missing.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot read grader configuration"), "{e}");
    // `neq` reads as `ne`; a single JSON grader object works too.
    let one = parse_graders(r#"{"type": "string_check", "name": "x", "input": "a", "reference": "b", "operation": "ne"}"#, ConfigFormat::Json, "one.json").unwrap();
    assert_eq!(one[0], configs[0].clone().renamed("x"));
    // Everything but the model grader builds without a model.
    let ctx = BuildContext::new();
    let no_model: Vec<GraderConfig> = configs
        .iter()
        .filter(|c| c.kind() != "label_model")
        .cloned()
        .collect();
    assert_eq!(
        build_graders(&no_model, &ctx, "several.toml")
            .unwrap()
            .len(),
        8
    );
}

trait Renamed {
    fn renamed(self, name: &str) -> Self;
}

impl Renamed for GraderConfig {
    fn renamed(mut self, name: &str) -> Self {
        self.set_name(name);
        if let GraderConfig::StringCheck(c) = &mut self {
            c.input = "a".into();
            c.reference = "b".into();
        }
        self
    }
}

#[test]
fn errors_name_file_grader_and_field() {
    let t = ConfigFormat::Toml;
    let j = ConfigFormat::Json;
    assert_eq!(
        err(
            "[[graders]]\ntype = \"string_check\"\nname = \"exact\"\ninput = \"a\"\nreference = \"b\"\noperation = \"equals\"\n",
            t
        ),
        "g.cfg: grader `exact`: field `operation`: unknown variant `equals`, expected one of `eq`, `ne`, `neq`, `like`, `ilike`"
    );
    assert_eq!(
        err(
            "[[graders]]\ntype = \"string_check\"\nname = \"exact\"\ninput = \"a\"\noperation = \"eq\"\n",
            t
        ),
        "g.cfg: grader `exact`: field `reference`: missing field `reference`"
    );
    assert!(
        err("[[graders]]\ntype = \"string_check\"\nname = \"exact\"\ninput = \"a\"\nreference = \"b\"\noperation = \"eq\"\nopration = 1\n", t)
            .starts_with("g.cfg: grader `exact`: field `opration`: unknown field `opration`, expected one of"),
    );
    assert!(
        err("[[graders]]\ntype = \"fuzzy\"\nname = \"f\"\n", t)
            .starts_with("g.cfg: grader `f`: field `type`: unknown grader type `fuzzy`, expected one of `string_check`"),
    );
    assert!(
        err(
            "[[graders]]\ntype = \"python\"\nname = \"p\"\nsource = \"\"\n",
            t
        )
        .contains("use a `program` grader")
    );
    assert_eq!(
        err(
            "[[graders]]\ntype = \"text_similarity\"\nname = \"s\"\ninput = \"a\"\nreference = \"b\"\nevaluation_metric = \"bleu\"\npass_threshold = \"high\"\n",
            t
        ),
        "g.cfg: grader `s`: field `pass_threshold`: invalid type: string \"high\", expected f64"
    );
    assert_eq!(
        err("[[graders]]\ntype = \"regex\"\npattern = \"x\"\n", t),
        "g.cfg: grader `#1`: field `name`: missing: every top-level grader needs a name"
    );
    assert!(err("[[graders]]\ntype = \"regex\"\nname = \"r\"\npattern = \"x\"\n[[graders]]\ntype = \"regex\"\nname = \"r\"\npattern = \"y\"\n", t).ends_with("grader `r`: field `name`: duplicate grader name"));
    assert!(err("[[graders]\n", t).starts_with("g.cfg: not valid TOML: "));
    assert!(err("{\"graders\": [", j).starts_with("g.cfg: not valid JSON: EOF while parsing"));
    assert_eq!(
        err(
            r#"{"graders": [{"type": "label_model", "name": "lab", "input": [{"role": "user", "content": "x", "extra": 1}], "labels": ["a"], "passing_labels": ["a"]}]}"#,
            j
        ),
        "g.cfg: grader `lab`: field `input[0].extra`: unknown field `extra`, expected `role` or `content`"
    );
    assert_eq!(
        err(r#"{"graders": [], "grader": 1}"#, j),
        "g.cfg: grader `<file>`: field `grader`: unknown top-level key: expected `graders` (a list of graders) or one grader with a `type`"
    );
    // Value errors appear when building: a bad regex, passing_labels outside labels.
    let regex = parse_graders(
        "[[graders]]\ntype = \"regex\"\nname = \"r\"\npattern = \"(x\"\n",
        t,
        "g.toml",
    )
    .unwrap();
    let e = regex[0]
        .build(&BuildContext::new(), "g.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("g.toml: grader `r`: field `pattern`: invalid regular expression"),
        "{e}"
    );
    let tmpl = parse_graders("[[graders]]\ntype = \"regex\"\nname = \"r\"\npattern = \"x\"\ninput = \"{{ sample.output_text \"\n", t, "g.toml").unwrap();
    let e = tmpl[0]
        .build(&BuildContext::new(), "g.toml")
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with("g.toml: grader `r`: field `input`: bad template"),
        "{e}"
    );
}
