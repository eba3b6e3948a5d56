//! How SQL stores keep a record: a kind (text), the step's index, and the record's other
//! fields as a JSON object, outputs and errors (JSON themselves) kept as JSON strings so
//! that they round-trip byte for byte. Shared by the SQLite and PostgreSQL stores.

use serde_json::{Map, Value};

use super::record::{gave_up_from_name, gave_up_name};
use super::{Record, Status};

pub(crate) mod kind {
    pub(crate) const STEP_STARTED: &str = "step_started";
    pub(crate) const STEP_SUCCEEDED: &str = "step_succeeded";
    pub(crate) const STEP_FAILED: &str = "step_failed";
    pub(crate) const COMPENSATION_STARTED: &str = "compensation_started";
    pub(crate) const COMPENSATION_SUCCEEDED: &str = "compensation_succeeded";
    pub(crate) const COMPENSATION_FAILED: &str = "compensation_failed";
    pub(crate) const FINISHED: &str = "finished";
    pub(crate) const REOPENED: &str = "reopened";
    pub(crate) const RESOLVED: &str = "resolved";
    pub(crate) const ABANDONED: &str = "abandoned";
}

/// A record's kind and payload (a JSON object), as stored: written straight to text
/// from borrowed fields (no `serde_json::Value` built in between).
#[cfg(feature = "postgres")]
pub(crate) fn encode(record: &Record) -> (&'static str, String) {
    let mut payload = Vec::new();
    let kind = encode_into(record, &mut payload);
    // JSON from `serde_json` is UTF-8.
    let payload = String::from_utf8(payload).unwrap_or_else(|_| "{}".to_owned());
    (kind, payload)
}

/// As `encode`, the payload written into `payload` (cleared first) as UTF-8 JSON text:
/// a writer that keeps the buffer allocates nothing for it once it has grown.
pub(crate) fn encode_into(record: &Record, payload: &mut Vec<u8>) -> &'static str {
    #[derive(serde::Serialize)]
    struct Name<'a> {
        name: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Succeeded<'a> {
        attempts: u32,
        output: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Failed<'a> {
        errors: &'a str,
        gave_up: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Started {
        uncertain: bool,
    }
    #[derive(serde::Serialize)]
    struct Errors<'a> {
        errors: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Finished {
        status: &'static str,
    }
    #[derive(serde::Serialize)]
    struct Operator<'a> {
        by: &'a str,
        note: &'a str,
    }
    // Serializing plain structs of strings, numbers and booleans cannot fail.
    fn write(payload: &mut Vec<u8>, value: &impl serde::Serialize) {
        if serde_json::to_writer(&mut *payload, value).is_err() {
            payload.clear();
            payload.extend_from_slice(b"{}");
        }
    }
    payload.clear();
    match record {
        Record::StepStarted { name, .. } => {
            write(payload, &Name { name });
            kind::STEP_STARTED
        }
        Record::StepSucceeded {
            attempts, output, ..
        } => {
            let attempts = *attempts;
            write(payload, &Succeeded { attempts, output });
            kind::STEP_SUCCEEDED
        }
        Record::StepFailed {
            errors, gave_up, ..
        } => {
            let gave_up = gave_up_name(*gave_up);
            write(payload, &Failed { errors, gave_up });
            kind::STEP_FAILED
        }
        Record::CompensationStarted { uncertain, .. } => {
            let uncertain = *uncertain;
            write(payload, &Started { uncertain });
            kind::COMPENSATION_STARTED
        }
        Record::CompensationSucceeded { .. } => {
            payload.extend_from_slice(b"{}");
            kind::COMPENSATION_SUCCEEDED
        }
        Record::CompensationFailed { errors, .. } => {
            write(payload, &Errors { errors });
            kind::COMPENSATION_FAILED
        }
        Record::Finished { status } => {
            let status = status.as_str();
            write(payload, &Finished { status });
            kind::FINISHED
        }
        Record::Reopened { by, note } => {
            write(payload, &Operator { by, note });
            kind::REOPENED
        }
        Record::Resolved { by, note } => {
            write(payload, &Operator { by, note });
            kind::RESOLVED
        }
        Record::Abandoned { by, note } => {
            write(payload, &Operator { by, note });
            kind::ABANDONED
        }
    }
}

/// Decodes a stored record from its kind, step index and payload, or says what is
/// wrong with it.
pub(crate) fn decode(kind: &str, index: Option<i64>, payload: &str) -> Result<Record, String> {
    let fields: Map<String, Value> = match serde_json::from_str(payload) {
        Ok(Value::Object(fields)) => fields,
        Ok(_) => return Err("its payload is not a JSON object".into()),
        Err(e) => return Err(format!("its payload is not JSON ({e})")),
    };
    let field = |name: &str| {
        fields
            .get(name)
            .ok_or_else(|| format!("its payload has no `{name}` (a `{kind}` record)"))
    };
    let string = |name: &str| {
        field(name)?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("its payload's `{name}` is not a string"))
    };
    let optional = |name: &str| match fields.get(name) {
        None => Ok(String::new()),
        Some(value) => value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("its payload's `{name}` is not a string")),
    };
    let number = |name: &str| {
        field(name)?
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("its payload's `{name}` is not a number of u32 range"))
    };
    let index = || match index {
        Some(i) => u32::try_from(i).map_err(|_| format!("its `step_index` {i} is out of range")),
        None => Err(format!("its `step_index` is NULL (a `{kind}` record)")),
    };
    Ok(match kind {
        kind::STEP_STARTED => Record::StepStarted {
            index: index()?,
            name: string("name")?.into(),
        },
        kind::STEP_SUCCEEDED => Record::StepSucceeded {
            index: index()?,
            attempts: number("attempts")?,
            output: string("output")?,
        },
        kind::STEP_FAILED => Record::StepFailed {
            index: index()?,
            errors: string("errors")?,
            gave_up: {
                let name = string("gave_up")?;
                gave_up_from_name(&name)
                    .ok_or_else(|| format!("its payload's reason to give up `{name}` is unknown"))?
            },
        },
        kind::COMPENSATION_STARTED => Record::CompensationStarted {
            index: index()?,
            uncertain: field("uncertain")?
                .as_bool()
                .ok_or("its payload's `uncertain` is not a boolean")?,
        },
        kind::COMPENSATION_SUCCEEDED => Record::CompensationSucceeded { index: index()? },
        kind::COMPENSATION_FAILED => Record::CompensationFailed {
            index: index()?,
            errors: string("errors")?,
        },
        kind::FINISHED => {
            let status = string("status")?;
            Record::Finished {
                status: Status::from_name(&status)
                    .ok_or_else(|| format!("its payload's status `{status}` is unknown"))?,
            }
        }
        // A journal of tale 0.1 reopened sagas without saying who or why.
        kind::REOPENED => Record::Reopened {
            by: optional("by")?,
            note: optional("note")?,
        },
        kind::RESOLVED => Record::Resolved {
            by: string("by")?,
            note: string("note")?,
        },
        kind::ABANDONED => Record::Abandoned {
            by: string("by")?,
            note: string("note")?,
        },
        other => return Err(format!("its kind `{other}` is unknown")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::retry::GaveUp;

    #[test]
    fn payloads_are_the_documented_json_objects() {
        let cases = [
            (
                Record::StepSucceeded {
                    index: 0,
                    attempts: 2,
                    output: r#"{"pnr":"X\"1"}"#.into(),
                },
                r#"{"attempts":2,"output":"{\"pnr\":\"X\\\"1\"}"}"#,
            ),
            (
                Record::StepFailed {
                    index: 1,
                    errors: r#"["full"]"#.into(),
                    gave_up: GaveUp::AttemptsExhausted,
                },
                r#"{"errors":"[\"full\"]","gave_up":"AttemptsExhausted"}"#,
            ),
            (Record::CompensationSucceeded { index: 0 }, "{}"),
            (
                Record::Finished {
                    status: Status::Stuck,
                },
                r#"{"status":"stuck"}"#,
            ),
            (
                Record::Resolved {
                    by: "ana".into(),
                    note: "by hand".into(),
                },
                r#"{"by":"ana","note":"by hand"}"#,
            ),
        ];
        let mut buffer = b"left over from the last record".to_vec();
        for (record, payload) in cases {
            let kind = encode_into(&record, &mut buffer);
            let text = std::str::from_utf8(&buffer).unwrap().to_owned();
            assert_eq!(text, payload);
            #[cfg(feature = "postgres")]
            assert_eq!(encode(&record), (kind, text.clone()));
            assert_eq!(
                decode(kind, record.index().map(i64::from), &text),
                Ok(record)
            );
        }
    }
}
