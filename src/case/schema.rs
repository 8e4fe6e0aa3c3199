//! The JSON Schema of the case format, generated from the serde model so it cannot drift.
//! `case.schema.json` at the top of the repository is this output; a test compares the two.

use super::spec::CaseFileSpec;

/// The schema as pretty JSON, draft-07 (what the VS Code YAML extension supports fully).
pub fn render() -> String {
    let schema = schemars::generate::SchemaSettings::draft07().into_generator().into_root_schema_for::<CaseFileSpec>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
