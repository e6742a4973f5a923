//! Validation errors: every problem of an event, each naming its field.

use std::fmt;

/// One problem with one field of an event.
///
/// `field` is the path of the field as a producer wrote it: `type`, `ts_event`,
/// `entity.kind`, `refs.correction_of`, `data.quantity`. Problems with the input as a
/// whole (not JSON, not an object) use the field `event`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where the problem is, e.g. `data.quantity`.
    pub field: String,
    /// What is wrong, e.g. `must be greater than 0`.
    pub reason: String,
}

impl FieldError {
    /// A problem with `field`.
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

/// Every problem found in one event, in the order they were found. Never empty when
/// returned as an error.
///
/// The caller should reject the event whole and show all of these to its producer
/// (they are meant to be read by the person who wrote the event).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// The problems, in the order found.
    pub fn iter(&self) -> std::slice::Iter<'_, FieldError> {
        self.0.iter()
    }

    /// The problem reported for `field`, if any.
    pub fn get(&self, field: &str) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

impl fmt::Display for ValidationErrors {
    /// All problems on one line, joined with `; `.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The collector every check writes into.
pub(crate) type Problems = Vec<FieldError>;

/// Records a problem.
pub(crate) fn report(out: &mut Problems, field: impl Into<String>, reason: impl Into<String>) {
    out.push(FieldError::new(field, reason));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_field_then_reason_and_joins_all() {
        let errs = ValidationErrors(vec![
            FieldError::new("type", "required"),
            FieldError::new("data.quantity", "must be greater than 0"),
        ]);
        assert_eq!(
            errs.to_string(),
            "type: required; data.quantity: must be greater than 0"
        );
        assert_eq!(
            errs.get("data.quantity").unwrap().reason,
            "must be greater than 0"
        );
        assert!(errs.get("source").is_none());
    }
}
