//! placeholder
use super::*;
pub struct Anthropic;
impl Anthropic { pub fn new(_: &LlmConfig) -> Result<Anthropic, LlmError> { Err(LlmError::Cancelled) } }
impl Provider for Anthropic { fn name(&self) -> &str { "anthropic" } fn model(&self) -> &str { "" } fn is_local(&self) -> bool { false } fn chat<'a>(&'a self, _: &'a ChatRequest, _: OnChunk<'a>) -> ChatFuture<'a> { Box::pin(async { Err(LlmError::Cancelled) }) } }
