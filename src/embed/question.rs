//! A question's vector, as the semantic channel searches with it (the server's and the CLI's).
//!
//! The model sees at most `max_tokens` tokens of a text (64 for the local model), so a long question
//! — a bug report with its steps, its code and its traceback — would be judged by its first two
//! lines. A long question is cut into windows of whole words that fit the model, up to
//! [`QUESTION_WINDOWS`] of them, embedded in one batch; its vector is the mean of the windows' unit
//! vectors, normalized. A question that fits is embedded as it is.
//!
//! `windows` is pure; `question_vector` calls the embedder.

use super::Embedder;
use anyhow::Result;

/// Windows of a long question embedded at most: tuned on the dev set's bug reports with
/// `REVERIE_EVAL_VARIANTS="windows=N"`.
pub const QUESTION_WINDOWS: usize = 1;

/// Words per window for a model that sees `max_tokens` tokens: about two thirds of them, as words
/// of prose and code take 1.3–1.6 tokens each with a WordPiece vocabulary.
fn words_per_window(max_tokens: usize) -> usize {
    (max_tokens * 2 / 3).max(8)
}

/// `question` cut into at most `max_windows` windows of whole words, each short enough for a
/// model that sees `max_tokens` tokens; one window (the question as it is) when it fits.
pub fn windows(question: &str, max_tokens: usize, max_windows: usize) -> Vec<String> {
    let words: Vec<&str> = question.split_whitespace().collect();
    let per_window = words_per_window(max_tokens);
    if words.len() <= per_window || max_windows <= 1 {
        return vec![question.to_string()];
    }
    words.chunks(per_window).take(max_windows).map(|chunk| chunk.join(" ")).collect()
}

/// The vector the semantic channel searches with for `question`: its windows' unit vectors
/// averaged and normalized (`windows`). `None` when the embedder returns nothing usable.
pub async fn question_vector(embedder: &dyn Embedder, question: &str, max_windows: usize) -> Result<Option<Vec<f32>>> {
    let texts = windows(question, embedder.max_tokens(), max_windows);
    let vectors = embedder.embed(&texts).await?;
    Ok(mean_direction(&vectors))
}

/// The normalized mean of `vectors`' unit vectors; `None` for no vectors, vectors of different
/// lengths, or a zero mean.
fn mean_direction(vectors: &[Vec<f32>]) -> Option<Vec<f32>> {
    let dims = vectors.first()?.len();
    if dims == 0 || vectors.iter().any(|v| v.len() != dims) {
        return None;
    }
    if vectors.len() == 1 {
        return Some(vectors[0].clone());
    }
    let mut sum = vec![0f32; dims];
    for vector in vectors {
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            sum.iter_mut().zip(vector).for_each(|(s, x)| *s += x / norm);
        }
    }
    let norm = sum.iter().map(|x| x * x).sum::<f32>().sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| sum.into_iter().map(|x| x / norm).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_question_is_one_window_and_a_long_one_is_cut_at_words() {
        assert_eq!(windows("where is the config loaded?", 64, 4), ["where is the config loaded?"]);
        let long: String = (0..100).map(|i| format!("w{i} ")).collect();
        let cut = windows(&long, 64, 4);
        // 42 words per window: 42 + 42 + 16.
        assert_eq!(cut.len(), 3);
        assert!(cut[0].starts_with("w0 w1 ") && cut[0].ends_with("w41"));
        assert!(cut[2].starts_with("w84 ") && cut[2].ends_with("w99"));
        assert_eq!(windows(&long, 64, 2).len(), 2, "at most the windows asked for");
        assert_eq!(windows(&long, 64, 1), std::slice::from_ref(&long), "one window: the question as it is");
        assert_eq!(windows(&long, 8192, 4), [long], "a model that sees it all takes it whole");
    }

    #[test]
    fn the_vector_is_the_normalized_mean_direction() {
        let mean = mean_direction(&[vec![2.0, 0.0], vec![0.0, 0.5]]).unwrap();
        let half = std::f32::consts::FRAC_1_SQRT_2;
        assert!((mean[0] - half).abs() < 1e-6 && (mean[1] - half).abs() < 1e-6);
        assert_eq!(mean_direction(&[vec![0.3, 0.4]]), Some(vec![0.3, 0.4]));
        assert_eq!(mean_direction(&[]), None);
        assert_eq!(mean_direction(&[vec![1.0], vec![1.0, 2.0]]), None);
        assert_eq!(mean_direction(&[vec![1.0, 0.0], vec![-1.0, 0.0]]), None);
    }
}
