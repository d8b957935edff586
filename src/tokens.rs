//! Token estimates, for budgets (the repo map, prompts, retrieved context).
//!
//! reverie has no tokenizer of its own for every model it may talk to, so budgets use one estimate:
//! 3.5 characters per token, which is what BPE tokenizers of current chat models give on source code
//! (English prose runs nearer 4). Estimates err towards more tokens, so a budget is not overrun.

/// Estimated tokens in `text`.
pub fn estimate_tokens(text: &str) -> usize {
    (text.chars().count() * 2).div_ceil(7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_round_up() {
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("a"), 1);
        assert_eq!(estimate_tokens("abcdefg"), 2);
        assert_eq!(estimate_tokens("μμμμμμμ"), 2);
    }
}
