; Rust imports, error-message sites, tests and comments (capture names: grammars/README.md).

(use_declaration argument: (_) @import.path) @import

(mod_item name: (identifier) @import.path !body) @import

; panic!("..."), unreachable!("..."), todo!("..."), unimplemented!("...")
((macro_invocation
  macro: [(identifier) @_macro (scoped_identifier name: (identifier) @_macro)]
  (token_tree . [(string_literal) (raw_string_literal)] @error.message)) @error.panic
  (#any-of? @_macro "panic" "unreachable" "todo" "unimplemented"))

; bail!("..."), anyhow!("..."), format_err!("...")
((macro_invocation
  macro: [(identifier) @_macro (scoped_identifier name: (identifier) @_macro)]
  (token_tree . [(string_literal) (raw_string_literal)] @error.message)) @error.return
  (#any-of? @_macro "bail" "anyhow" "format_err" "eyre"))

; error!("..."), tracing::error!("..."), log::error!(target: .., "...")
((macro_invocation
  macro: [(identifier) @_macro (scoped_identifier name: (identifier) @_macro)]
  (token_tree [(string_literal) (raw_string_literal)] @error.message)) @error.log
  (#eq? @_macro "error"))

; Err("..."), Err(format!("...")), Err(Error::new("..."))
((call_expression
  function: (identifier) @_err
  arguments: (arguments
    .
    [
      (string_literal) @error.message
      (macro_invocation (token_tree . (string_literal) @error.message))
      (call_expression arguments: (arguments . (string_literal) @error.message))
    ])) @error.return
  (#eq? @_err "Err"))

; .expect("..."), .context("..."), .with_context(|| "...")
((call_expression
  function: (field_expression field: (field_identifier) @_method)
  arguments: (arguments . (string_literal) @error.message)) @error.panic
  (#eq? @_method "expect"))

((call_expression
  function: (field_expression field: (field_identifier) @_method)
  arguments: (arguments . (string_literal) @error.message)) @error.return
  (#eq? @_method "context"))

; #[test] fn ..., #[tokio::test] fn ..., also with one more attribute in between
((attribute_item (attribute [(identifier) (scoped_identifier)] @_attr))
  .
  (function_item name: (identifier) @test.name) @test
  (#match? @_attr "(^|::)test$"))

((attribute_item (attribute [(identifier) (scoped_identifier)] @_attr))
  .
  (attribute_item)
  .
  (function_item name: (identifier) @test.name) @test
  (#match? @_attr "(^|::)test$"))

[(line_comment) (block_comment)] @comment
