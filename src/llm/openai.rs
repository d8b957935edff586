//! placeholder
use super::*;
pub struct OpenAi;
impl OpenAi { pub fn new(_: &LlmConfig) -> Result<OpenAi, LlmError> { Err(LlmError::Cancelled) } }
impl Provider for OpenAi { fn name(&self) -> &str { "openai" } fn model(&self) -> &str { "" } fn is_local(&self) -> bool { false } fn chat<'a>(&'a self, _: &'a ChatRequest, _: OnChunk<'a>) -> ChatFuture<'a> { Box::pin(async { Err(LlmError::Cancelled) }) } }
