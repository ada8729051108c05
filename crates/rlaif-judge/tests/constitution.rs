//! Constitutions: the built-in one, round trips through TOML and JSON (text and files), and
//! every kind of malformed file, each error naming the file, the principle and the field.

use rlaif_judge::constitution::{Constitution, ConstitutionError, ConstitutionFormat};

const GOOD: &str = r#"
name = "mine"

[[principles]]
name = "kind"
critique_request = "Is the reply unkind?"
revision_request = "Make it kind."
comparison = "Which reply is kinder?"

[[principles]]
name = "true"
critique_request = "Is the reply false?"
revision_request = "Make it true."
comparison = "Which reply is more truthful?"
"#;

fn parse_err(text: &str, format: ConstitutionFormat) -> String {
    match Constitution::parse(text, format, "mine.toml") {
        Ok(c) => panic!("accepted: {c:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_built_in_constitution_is_valid_and_names_its_principles() {
    let c = Constitution::harmlessness();
    assert_eq!(c.name, "harmlessness");
    assert_eq!(c.principles.len(), 12);
    assert!(c.principle("harmful-content").is_some());
    for p in &c.principles {
        assert!(
            p.comparison.ends_with('?') || p.comparison.ends_with('.'),
            "{p:?}"
        );
    }
    c.validate("<built-in>").unwrap();
}

#[test]
fn round_trips_through_toml_and_json() {
    for c in [
        Constitution::harmlessness(),
        Constitution::parse(GOOD, ConstitutionFormat::Toml, "<t>").unwrap(),
    ] {
        let toml = c.to_toml();
        assert_eq!(
            Constitution::parse(&toml, ConstitutionFormat::Toml, "<t>").unwrap(),
            c
        );
        let json = c.to_json();
        assert_eq!(
            Constitution::parse(&json, ConstitutionFormat::Json, "<j>").unwrap(),
            c
        );
        let dir = tempfile::tempdir().unwrap();
        for name in ["c.toml", "c.json"] {
            let path = dir.path().join(name);
            c.save(&path).unwrap();
            assert_eq!(Constitution::load(&path).unwrap(), c);
        }
    }
}

#[test]
fn a_description_is_optional_and_kept() {
    let text = format!("description = \"for tests\"\n{GOOD}");
    let c = Constitution::parse(&text, ConstitutionFormat::Toml, "<t>").unwrap();
    assert_eq!(c.description, "for tests");
    assert!(c.to_toml().contains("description = \"for tests\""));
}

#[test]
fn a_missing_field_names_the_principle_and_the_field() {
    let text = GOOD.replace("comparison = \"Which reply is kinder?\"\n", "");
    assert_eq!(
        parse_err(&text, ConstitutionFormat::Toml),
        "mine.toml: principle `kind` (#1): field `comparison`: missing field `comparison`"
    );
}

#[test]
fn an_unknown_field_is_rejected() {
    let text = GOOD.replace("name = \"true\"", "name = \"true\"\nweight = 2");
    let e = parse_err(&text, ConstitutionFormat::Toml);
    assert!(
        e.starts_with("mine.toml: principle `true` (#2): field `weight`: unknown field `weight`"),
        "{e}"
    );
    let top = format!("version = 3\n{GOOD}");
    let e = parse_err(&top, ConstitutionFormat::Toml);
    assert!(
        e.starts_with("mine.toml: top level: field `version`: unknown field `version`"),
        "{e}"
    );
}

#[test]
fn a_wrong_type_names_the_field() {
    let text = GOOD.replace(
        "revision_request = \"Make it true.\"",
        "revision_request = 5",
    );
    let e = parse_err(&text, ConstitutionFormat::Toml);
    assert!(
        e.starts_with("mine.toml: principle `true` (#2): field `revision_request`: invalid type"),
        "{e}"
    );
    // A principle without a readable name is named by its position.
    let json = r#"{"name": "x", "principles": [{"name": 7, "critique_request": "a", "revision_request": "b", "comparison": "c"}]}"#;
    let e = parse_err(json, ConstitutionFormat::Json);
    assert!(
        e.starts_with("mine.toml: principle #1: field `name`: invalid type"),
        "{e}"
    );
    let json = r#"{"name": "x", "principles": ["be kind"]}"#;
    let e = parse_err(json, ConstitutionFormat::Json);
    assert!(
        e.starts_with("mine.toml: principle #1: field `<principle>`: invalid type"),
        "{e}"
    );
    let json = r#"{"name": "x", "principles": {"name": "kind"}}"#;
    let e = parse_err(json, ConstitutionFormat::Json);
    assert!(
        e.starts_with("mine.toml: top level: field `principles`: invalid type"),
        "{e}"
    );
    let e = parse_err("[1, 2]", ConstitutionFormat::Json);
    assert!(e.contains("top level: field `<document>`"), "{e}");
}

#[test]
fn blank_texts_and_duplicate_names_are_rejected() {
    let text = GOOD.replace("\"Make it kind.\"", "\"   \"");
    assert_eq!(
        parse_err(&text, ConstitutionFormat::Toml),
        "mine.toml: principle `kind` (#1): field `revision_request`: expected a non-blank text"
    );
    let text = GOOD.replace("name = \"true\"", "name = \"kind\"");
    assert_eq!(
        parse_err(&text, ConstitutionFormat::Toml),
        "mine.toml: principle `kind` (#2): field `name`: duplicate principle name (also principle #1)"
    );
    let text = GOOD.replace("name = \"true\"", "name = \"\"");
    assert_eq!(
        parse_err(&text, ConstitutionFormat::Toml),
        "mine.toml: principle #2: field `name`: expected a non-blank text"
    );
}

#[test]
fn a_constitution_needs_a_name_and_principles() {
    assert_eq!(
        parse_err("name = \"x\"\nprinciples = []", ConstitutionFormat::Toml),
        "mine.toml: top level: field `principles`: expected at least one principle"
    );
    let e = parse_err("name = \"x\"", ConstitutionFormat::Toml);
    assert_eq!(
        e,
        "mine.toml: top level: field `principles`: missing field `principles`"
    );
    let text = GOOD.replace("name = \"mine\"", "name = \" \"");
    assert_eq!(
        parse_err(&text, ConstitutionFormat::Toml),
        "mine.toml: top level: field `name`: expected a non-blank name"
    );
}

#[test]
fn syntax_errors_and_files_report_where() {
    let e = parse_err("name = \"x\n", ConstitutionFormat::Toml);
    assert!(e.starts_with("mine.toml: not valid TOML: "), "{e}");
    assert!(e.contains("line 1"), "{e}");
    let e = parse_err("{\"name\": ", ConstitutionFormat::Json);
    assert!(e.starts_with("mine.toml: not valid JSON: "), "{e}");
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.toml");
    let e = Constitution::load(&missing).unwrap_err();
    assert!(matches!(e, ConstitutionError::Io { .. }));
    assert!(e.to_string().contains("none.toml"), "{e}");
    let yaml = dir.path().join("c.yaml");
    std::fs::write(&yaml, GOOD).unwrap();
    let e = Constitution::load(&yaml).unwrap_err().to_string();
    assert!(e.contains("c.yaml") && e.contains(".toml or .json"), "{e}");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"name": "x", "principles": [{"name": "a"}]}"#).unwrap();
    let e = Constitution::load(&bad).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!(
            "{}: principle `a` (#1): field `critique_request`: missing field",
            bad.display()
        )),
        "{e}"
    );
}
