//! Cuts a rendered SQL file into its statements, keeping each statement's original text
//! (BigQuery runs that text) and the line it starts on (errors and logs name it).
//!
//! The cut uses sqlparser's tokenizer, so a `;` inside a string or a comment never splits.

use sqlparser::dialect::BigQueryDialect;
use sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::SqlError;
use crate::template::line_of;

/// One statement of a file, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText {
    /// The statement's text without the trailing `;`, comments before it included.
    pub text: String,
    /// The 1-based line of the file on which its first token stands.
    pub line: u64,
    /// The 1-based line of the file on which `text` begins (the line of the `;` before it),
    /// so a position inside `text` maps back to the file.
    pub text_line: u64,
}

/// The statements of `text` (file `file`), in order; empty ones are left out.
pub fn split_statements(file: &str, text: &str) -> Result<Vec<StatementText>, SqlError> {
    let tokens = Tokenizer::new(&BigQueryDialect, text).tokenize_with_location().map_err(|e| {
        SqlError::Parse { file: file.into(), line: e.location.line, message: e.message }
    })?;
    let offsets = LineOffsets::new(text);

    let mut statements = Vec::new();
    let mut start = 0;
    let mut first_line = None;
    for token in &tokens {
        match &token.token {
            Token::SemiColon => {
                let end = offsets.byte(text, token.span.start.line, token.span.start.column);
                push(&mut statements, text, start..end, first_line.take());
                start = end + 1;
            }
            Token::Whitespace(_) | Token::EOF => {}
            _ if first_line.is_none() => first_line = Some(token.span.start.line),
            _ => {}
        }
    }
    push(&mut statements, text, start..text.len(), first_line);
    Ok(statements)
}

fn push(
    statements: &mut Vec<StatementText>,
    file_text: &str,
    range: std::ops::Range<usize>,
    first_line: Option<u64>,
) {
    if let Some(line) = first_line {
        let text_line = line_of(file_text, range.start);
        statements.push(StatementText { text: file_text[range].to_string(), line, text_line });
    }
}

/// Maps the tokenizer's (line, column) positions, columns counted in characters, to byte
/// offsets.
struct LineOffsets {
    starts: Vec<usize>,
}

impl LineOffsets {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineOffsets { starts }
    }

    fn byte(&self, text: &str, line: u64, column: u64) -> usize {
        let start = self.starts[(line as usize).saturating_sub(1).min(self.starts.len() - 1)];
        let within: usize = text[start..]
            .chars()
            .take((column as usize).saturating_sub(1))
            .map(char::len_utf8)
            .sum();
        start + within
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_keep_their_text_and_first_line() {
        let text = "-- header\n\nSELECT 1;\n\n  -- about two\nSELECT\n  2;\n";

        let statements = split_statements("f.sql", text).unwrap();

        assert_eq!(statements.len(), 2);
        assert_eq!(statements[0].line, 3);
        assert_eq!(statements[0].text.trim_start_matches(|c| c != 'S'), "SELECT 1");
        assert_eq!(statements[1].line, 6);
        assert!(statements[1].text.contains("-- about two\nSELECT\n  2"));
    }

    #[test]
    fn semicolons_in_strings_and_comments_do_not_split() {
        let text = "SELECT 'a;b', \"c;d\" -- e;f\n;SELECT `x;y`";

        let statements = split_statements("f.sql", text).unwrap();

        assert_eq!(statements.len(), 2);
        assert!(statements[0].text.contains("'a;b'") && statements[0].text.contains("e;f"));
        assert_eq!(statements[1].text, "SELECT `x;y`");
    }

    #[test]
    fn multibyte_text_before_a_semicolon_cuts_at_the_right_byte() {
        let statements = split_statements("f.sql", "SELECT 'é€'; SELECT 2").unwrap();

        assert_eq!(statements[0].text, "SELECT 'é€'");
        assert_eq!(statements[1].text.trim(), "SELECT 2");
    }

    #[test]
    fn comment_only_tail_is_no_statement() {
        let statements = split_statements("f.sql", "SELECT 1;\n-- the end\n").unwrap();

        assert_eq!(statements.len(), 1);
    }

    #[test]
    fn unterminated_string_names_the_file_and_line() {
        let err = split_statements("f.sql", "SELECT 1;\nSELECT 'oops").unwrap_err().to_string();

        assert!(err.contains("f.sql:2"), "{err}");
    }

    #[test]
    fn shipped_files_split_into_their_create_statements() {
        for step in crate::STEPS {
            let statements = split_statements(step.file, step.text).unwrap();
            let expected = step.text.matches("CREATE OR REPLACE TABLE").count().max(1);
            assert_eq!(statements.len(), expected, "{}", step.file);
        }
    }
}
