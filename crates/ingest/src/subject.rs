//! NATS subject patterns: `*` matches one token, `>` one or more at the end.

/// Whether the literal subject `subject` matches `pattern`.
pub fn matches(pattern: &str, subject: &str) -> bool {
    let mut p = pattern.split('.');
    let mut s = subject.split('.');
    loop {
        match (p.next(), s.next()) {
            (Some(">"), Some(_)) => return true,
            (Some("*"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether `subject` is a literal subject one may publish to: non-empty tokens, no
/// wildcards, no white space.
pub fn is_literal(subject: &str) -> bool {
    !subject.is_empty()
        && subject
            .split('.')
            .all(|t| !t.is_empty() && t != "*" && t != ">" && !t.chars().any(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(matches("audit.>", "audit.oms"));
        assert!(matches("audit.>", "audit.oms.x"));
        assert!(!matches("audit.>", "audit"));
        assert!(matches("audit.*", "audit.oms"));
        assert!(!matches("audit.*", "audit.oms.x"));
        assert!(matches("audit.dead", "audit.dead"));
        assert!(!matches("audit.dead", "audit.deadx"));
        assert!(!matches("audit.>", "deadletter.audit"));
        assert!(is_literal("deadletter.AUDIT"));
        assert!(!is_literal("a.*"));
        assert!(!is_literal("a..b"));
        assert!(!is_literal(""));
    }
}
