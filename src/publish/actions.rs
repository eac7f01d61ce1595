//! The GitHub Actions runner side of publishing: the job summary file and workflow commands.
//!
//! Everything here is pure or touches only a file the runner hands us, so it works the same
//! on a hosted runner, a self-hosted Xeon runner and in tests. Nothing here talks to the API.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;

/// Appends `markdown` to the job summary file (the caller passes `$GITHUB_STEP_SUMMARY`).
///
/// The runner concatenates what every step appends, so we open in append mode (creating the
/// file if a local run points at a fresh path) and end with a newline: without it the next
/// step's first line would be glued onto our last one and break its markdown.
pub fn append_step_summary(path: &Path, markdown: &str) -> io::Result<()> {
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(markdown.as_bytes())?;
    if !markdown.ends_with('\n') {
        file.write_all(b"\n")?;
    }
    file.flush()
}

/// Severity of a workflow-command annotation, as the runner names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Shown in red; does not by itself fail the step (the exit code does).
    Error,
    /// Shown in yellow.
    Warning,
    /// Shown in blue, for information a reviewer should see.
    Notice,
}

impl Level {
    /// The command keyword the runner recognises.
    pub fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// Builds one workflow command line such as `::error title=Regression::p50 +12%`.
///
/// The returned string has no trailing newline; print it with `println!` on stdout. Escaping
/// follows the runner's rules, so a multi-line message stays one annotation and a message
/// containing `::` or `%` cannot be mistaken for another command or an escape sequence.
pub fn workflow_command(level: Level, title: Option<&str>, message: &str) -> String {
    let mut line = format!("::{}", level.command());
    if let Some(title) = title {
        line.push_str(" title=");
        line.push_str(&escape_property(title));
    }
    line.push_str("::");
    line.push_str(&escape_data(message));
    line
}

/// Escapes a command's message: `%` first so later escapes are not double-escaped, then the
/// line breaks that would otherwise end the command early.
fn escape_data(value: &str) -> String {
    value
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`title=...`): like a message, plus `:` and `,`, which the runner
/// uses to separate the properties from each other and from the message.
fn escape_property(value: &str) -> String {
    escape_data(value).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_without_title_has_no_properties() {
        assert_eq!(
            workflow_command(Level::Warning, None, "throttled"),
            "::warning::throttled"
        );
    }

    #[test]
    fn command_with_title_puts_title_property_before_message() {
        assert_eq!(
            workflow_command(Level::Error, Some("Regression"), "p50 +12%"),
            "::error title=Regression::p50 +12%25"
        );
    }

    #[test]
    fn notice_level_uses_notice_keyword() {
        assert_eq!(workflow_command(Level::Notice, None, "ok"), "::notice::ok");
    }

    #[test]
    fn message_escapes_percent_before_line_breaks() {
        assert_eq!(escape_data("100%\r\nnext"), "100%25%0D%0Anext");
        // A literal "%0A" typed by a user must survive as text, not become a newline.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn message_keeps_colons_and_commas() {
        assert_eq!(
            workflow_command(Level::Error, None, "a: b, c::d"),
            "::error::a: b, c::d"
        );
    }

    #[test]
    fn property_escapes_colon_and_comma_too() {
        assert_eq!(
            escape_property("x86_64: Xeon, 1 CPU\n50%"),
            "x86_64%3A Xeon%2C 1 CPU%0A50%25"
        );
    }

    #[test]
    fn multi_line_message_stays_on_one_line() {
        let line = workflow_command(Level::Warning, Some("a,b"), "line 1\nline 2");
        assert_eq!(line, "::warning title=a%2Cb::line 1%0Aline 2");
        assert!(!line.contains('\n'));
    }

    #[test]
    fn summary_is_created_then_appended_with_newlines() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("summary.md");
        append_step_summary(&path, "# First")?;
        append_step_summary(&path, "second\n")?;
        assert_eq!(std::fs::read_to_string(&path)?, "# First\nsecond\n");
        Ok(())
    }

    #[test]
    fn summary_keeps_what_earlier_steps_wrote() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "earlier step\n")?;
        append_step_summary(&path, "ours\n")?;
        assert_eq!(std::fs::read_to_string(&path)?, "earlier step\nours\n");
        Ok(())
    }
}
