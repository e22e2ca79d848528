//! Upload names are untrusted: they never decide where a file is written.

const MAX_LEN: usize = 120;

/// The last path component, without control characters, leading dots or
/// anything that could climb out of a folder; at most 120 bytes; never empty.
pub fn sanitize_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !is_invisible_format(*c))
        .map(|c| {
            if matches!(c, ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .collect();
    // Dots and spaces in any mix (". .x" would still be hidden after one pass).
    let cleaned = cleaned
        .trim_start_matches(|c: char| c == '.' || c.is_whitespace())
        .trim_end();
    let mut out = String::new();
    for c in cleaned.chars() {
        if out.len() + c.len_utf8() > MAX_LEN {
            break;
        }
        out.push(c);
    }
    // The cut may end on a space, which the trim above had removed.
    out.truncate(out.trim_end().len());
    if out.is_empty() {
        "file".into()
    } else {
        out
    }
}

/// Bidi controls (U+202E shows `invoice\u{202E}fdp.exe` as `invoiceexe.pdf`),
/// the Arabic letter mark, zero-width space, word joiner and BOM: they change
/// how a name reads without being seen. (ZWJ/ZWNJ stay: scripts need them.)
fn is_invisible_format(c: char) -> bool {
    matches!(c,
        '\u{061C}' | '\u{200B}' | '\u{200E}' | '\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::sanitize_filename;

    #[test]
    fn names_cannot_escape() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("/etc/shadow"), "shadow");
        assert_eq!(sanitize_filename("..\\..\\win.ini"), "win.ini");
        assert_eq!(sanitize_filename("a\0b.txt"), "ab.txt");
        assert_eq!(sanitize_filename(".."), "file");
        assert_eq!(sanitize_filename(""), "file");
        assert_eq!(sanitize_filename(".hidden"), "hidden");
        assert_eq!(sanitize_filename(". . .hidden"), "hidden");
        assert!(sanitize_filename(&"x".repeat(5000)).len() <= 120);
        let cut_at_a_space = format!("{} tail.txt", "x".repeat(119));
        assert_eq!(sanitize_filename(&cut_at_a_space), "x".repeat(119));
        assert_eq!(sanitize_filename("report 2024.pdf"), "report 2024.pdf");
        assert_eq!(
            sanitize_filename("invoice\u{202E}fdp.exe"),
            "invoicefdp.exe"
        );
        assert_eq!(sanitize_filename("\u{2066}\u{200F}a\u{FEFF}.txt"), "a.txt");
        assert_eq!(sanitize_filename("\u{202E}"), "file");
        assert_eq!(sanitize_filename("نام\u{200C}ها.txt"), "نام\u{200C}ها.txt");
    }
}

#[cfg(test)]
mod props {
    use super::{is_invisible_format, sanitize_filename, MAX_LEN};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the name, what is kept is one plain, visible, bounded
        /// path component, and cleaning it again changes nothing.
        #[test]
        fn any_name_becomes_one_clean_component(name in "(?s).{0,200}|[./\\\\ a-z\u{202e}\u{200b}]{0,40}|[a. ]{110,130}") {
            let clean = sanitize_filename(&name);
            prop_assert!(!clean.is_empty() && clean.len() <= MAX_LEN);
            prop_assert!(!clean.contains(['/', '\\']) && !clean.starts_with('.'));
            prop_assert!(!clean.chars().any(|c| c.is_control() || is_invisible_format(c)));
            prop_assert_eq!(&clean, &clean.trim());
            prop_assert_eq!(sanitize_filename(&clean), clean);
        }
    }
}
