; Lua imports, error-message sites, tests and comments (capture names: grammars/README.md).

; require("cjson"), require "cookie_jar"
((function_call
  name: (identifier) @_require
  arguments: (arguments . (string) @import.path)) @import
  (#eq? @_require "require"))

; error("message"), error(("message %s"):format(x)), error(string.format("message %s", x))
((function_call
  name: (identifier) @_error
  arguments: (arguments . (string) @error.message)) @error.raise
  (#eq? @_error "error"))
((function_call
  name: (identifier) @_error
  arguments: (arguments . (function_call arguments: (arguments . (string) @error.message)))) @error.raise
  (#eq? @_error "error"))
((function_call
  name: (identifier) @_error
  arguments: (arguments
    . (function_call name: (method_index_expression table: (parenthesized_expression (string) @error.message))))) @error.raise
  (#eq? @_error "error"))

; assert(condition, "message")
((function_call
  name: (identifier) @_assert
  arguments: (arguments (_) . (string) @error.message .)) @error.raise
  (#eq? @_assert "assert"))

; log.error("..."), ngx.log(ngx.ERR, "...")
((function_call
  name: (dot_index_expression field: (identifier) @_level)
  arguments: (arguments . (string) @error.message)) @error.log
  (#any-of? @_level "error" "fatal"))

; busted: it("does x", function() … end), test(…), spec(…)
((function_call
  name: (identifier) @_it
  arguments: (arguments . (string) @test.name . (function_definition))) @test
  (#any-of? @_it "it" "test" "spec"))

(comment) @comment
