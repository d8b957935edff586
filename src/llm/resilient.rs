//! placeholder
use super::*;
pub struct Resilient { pub inner: Arc<dyn Provider> }
impl Resilient { pub fn new(inner: Arc<dyn Provider>, _: &LlmConfig) -> Resilient { Resilient { inner } } }
