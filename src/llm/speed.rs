//! How fast a model runs on this machine, and what an answer may hold to arrive in time. Pure.
//!
//! A transformer's cost per token grows with the tokens before it (attention reads the whole
//! cache): measured for SmolLM2-135M on one core, reading falls from 233 to 174 tokens/s and writing
//! from 120 to 38 tokens/s between 145 and 1,800 tokens of context. So each speed is a line, seconds
//! per token = `base + per_position × position`, fitted on two positions when the model loads
//! (`llm::local`), and an answer is sized by summing it.

use std::time::Duration;

/// Seconds one token costs at `position`: `base + per_position × position`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    pub base: f64,
    pub per_position: f64,
}

impl Cost {
    /// The line through two measurements: (position, seconds per token).
    pub fn through(a: (f64, f64), b: (f64, f64)) -> Cost {
        let per_position = if (b.0 - a.0).abs() < 1.0 { 0.0 } else { ((b.1 - a.1) / (b.0 - a.0)).max(0.0) };
        Cost { base: (a.1 - per_position * a.0).max(0.0), per_position }
    }

    /// Seconds for the tokens at positions `from..from + count`.
    pub fn seconds(self, from: f64, count: f64) -> f64 {
        count * self.base + self.per_position * (count * from + count * (count - 1.0) / 2.0)
    }

    fn scaled(self, factor: f64) -> Cost {
        Cost { base: self.base * factor, per_position: self.per_position * factor }
    }
}

/// A model's speed on this machine.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Speed {
    /// Reading the prompt (prefill), per token.
    pub prompt: Cost,
    /// Writing the answer, per token (a forward step and sampling).
    pub answer: Cost,
    /// The model's tokens per `tokens::estimate_tokens` token on code (budgets are in estimated tokens).
    pub tokens_per_estimate: f64,
}

impl Speed {
    /// Prompt tokens per second over the first `tokens` (for messages).
    pub fn prompt_per_s(&self, tokens: f64) -> f64 {
        tokens / self.prompt.seconds(0.0, tokens).max(1e-9)
    }

    /// Answer tokens per second after `context` tokens (for messages).
    pub fn answer_per_s(&self, context: f64) -> f64 {
        1.0 / self.answer.seconds(context, 1.0).max(1e-9)
    }

    /// Moves the lines halfway toward what a real call took (a call too short to time is left out).
    pub fn observe(&mut self, prompt_tokens: u64, prompt_time: Duration, answer_tokens: u64, answer_time: Duration) {
        let (p, a) = (prompt_tokens as f64, answer_tokens as f64);
        if prompt_tokens >= 64 && !prompt_time.is_zero() {
            let ratio = prompt_time.as_secs_f64() / self.prompt.seconds(0.0, p).max(1e-9);
            self.prompt = self.prompt.scaled((1.0 + ratio) / 2.0);
        }
        if answer_tokens >= 16 && !answer_time.is_zero() {
            let ratio = answer_time.as_secs_f64() / self.answer.seconds(p, a).max(1e-9);
            self.answer = self.answer.scaled((1.0 + ratio) / 2.0);
        }
    }
}

/// The least context a time-bound answer gets: an answer with no context is no answer.
pub const MIN_CONTEXT_TOKENS: usize = 300;

/// What one answer may take so that it arrives within `target` at `speed`: (answer tokens, context
/// in estimated tokens — `tokens::estimate_tokens`, the unit of context budgets). The answer gets
/// at most a third of the time and at most `answer_tokens`; the prompt is `fixed_tokens`
/// (instructions, question; estimated) plus the context, and gets the rest. Never below
/// `MIN_CONTEXT_TOKENS` of context.
pub fn fit_to_time(speed: Speed, target: Duration, answer_tokens: u32, fixed_tokens: usize) -> (u32, usize) {
    let seconds = target.as_secs_f64();
    let per_estimate = speed.tokens_per_estimate.max(0.1);
    let fixed = fixed_tokens as f64 * per_estimate;
    // The prompt length decides how fast the answer is written, and the answer's length how long the
    // prompt may be: a few rounds settle both.
    let mut prompt = fixed + MIN_CONTEXT_TOKENS as f64 * per_estimate;
    let mut answer = 1.0;
    for _ in 0..4 {
        answer = longest(answer_tokens as f64, |a| speed.answer.seconds(prompt, a) <= seconds / 3.0).max(1.0);
        let left = seconds - speed.answer.seconds(prompt, answer);
        prompt = longest(1_000_000.0, |p| speed.prompt.seconds(0.0, p) <= left).max(fixed);
    }
    let context = ((prompt - fixed) / per_estimate) as usize;
    (answer as u32, context.max(MIN_CONTEXT_TOKENS))
}

/// The largest whole n in 0..=max with `fits(n)` (fits is monotone: true, then false).
fn longest(max: f64, fits: impl Fn(f64) -> bool) -> f64 {
    let (mut low, mut high) = (0.0_f64, max.floor());
    if fits(high) {
        return high;
    }
    while high - low > 1.0 {
        let mid = ((low + high) / 2.0).floor();
        if fits(mid) { low = mid } else { high = mid }
    }
    low
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAT: Speed = Speed {
        prompt: Cost { base: 1.0 / 300.0, per_position: 0.0 },
        answer: Cost { base: 1.0 / 30.0, per_position: 0.0 },
        tokens_per_estimate: 1.0,
    };

    #[test]
    fn a_line_sums_the_cost_of_each_position() {
        let cost = Cost::through((0.0, 1.0), (10.0, 2.0));
        assert_eq!(cost, Cost { base: 1.0, per_position: 0.1 });
        // Positions 0, 1, 2: 1.0 + 1.1 + 1.2.
        assert!((cost.seconds(0.0, 3.0) - 3.3).abs() < 1e-9);
        // Positions 10 and 11: 2.0 + 2.1.
        assert!((cost.seconds(10.0, 2.0) - 4.1).abs() < 1e-9);
        assert_eq!(Cost::through((5.0, 2.0), (5.0, 3.0)).per_position, 0.0, "one position: a flat cost");
    }

    #[test]
    fn an_answer_is_sized_to_arrive_in_time() {
        // 300 tokens/s read, 30 written, 9 s: the answer gets a third (90 tokens), the prompt the
        // other 6 s (1,800 tokens), less the fixed part.
        assert_eq!(fit_to_time(FLAT, Duration::from_secs(9), 400, 200), (90, 1_600));
        // A short configured answer (1 s) leaves 8 s to read.
        assert_eq!(fit_to_time(FLAT, Duration::from_secs(9), 30, 200), (30, 2_200));
        // A tokenizer that cuts code finer than the estimate leaves room for less context.
        let fine = Speed { tokens_per_estimate: 1.5, ..FLAT };
        assert_eq!(fit_to_time(fine, Duration::from_secs(9), 400, 200), (90, 1_000));
        // A slow machine still sends some context.
        let slow = Speed {
            prompt: Cost { base: 0.1, per_position: 0.0 },
            answer: Cost { base: 1.0 / 3.0, per_position: 0.0 },
            ..FLAT
        };
        assert_eq!(fit_to_time(slow, Duration::from_secs(9), 400, 200), (9, MIN_CONTEXT_TOKENS));
    }

    #[test]
    fn a_cost_that_grows_with_the_context_leaves_less_of_it() {
        let growing = Speed {
            prompt: Cost { base: 1.0 / 300.0, per_position: 1e-6 },
            answer: Cost { base: 1.0 / 30.0, per_position: 1e-5 },
            ..FLAT
        };
        let (answer, context) = fit_to_time(growing, Duration::from_secs(9), 400, 200);
        let (flat_answer, flat_context) = fit_to_time(FLAT, Duration::from_secs(9), 400, 200);
        assert!(answer < flat_answer && context < flat_context, "{answer} {context}");
        // And what it chose does fit.
        let prompt = (context + 200) as f64;
        let total = growing.prompt.seconds(0.0, prompt) + growing.answer.seconds(prompt, answer as f64);
        assert!(total <= 9.0 + 1e-6, "{total}");
    }

    #[test]
    fn observing_a_slower_call_slows_the_estimate_halfway() {
        let mut speed = FLAT;
        // 300 prompt tokens took 2 s (predicted 1 s); 30 answer tokens took 1 s (as predicted).
        speed.observe(300, Duration::from_secs(2), 30, Duration::from_secs(1));
        assert!((speed.prompt.base - 1.5 / 300.0).abs() < 1e-12);
        assert!((speed.answer.base - 1.0 / 30.0).abs() < 1e-12);
    }
}
