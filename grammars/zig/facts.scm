; Zig imports, error-message sites, tests and comments (capture names: grammars/README.md).

; const std = @import("std");
((builtin_function
  (builtin_identifier) @_import
  (arguments . (string) @import.path)) @import
  (#eq? @_import "@import"))

; return error.EmptyCookie: the error's name is what users see ("error: EmptyCookie")
(return_expression (error_type (identifier) @error.message)) @error.return

; @panic("message"), std.debug.panic("message", .{})
((builtin_function
  (builtin_identifier) @_panic
  (arguments . (string) @error.message)) @error.panic
  (#eq? @_panic "@panic"))
((call_expression
  function: (field_expression member: (identifier) @_panic)
  . (string) @error.message) @error.panic
  (#eq? @_panic "panic"))

; std.log.err("message", .{}), log.err(…)
((call_expression
  function: (field_expression member: (identifier) @_level)
  . (string) @error.message) @error.log
  (#eq? @_level "err"))

; test "name" { … }
(test_declaration (string) @test.name) @test
(test_declaration (identifier) @test.name) @test

(comment) @comment
