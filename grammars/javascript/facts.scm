; JavaScript imports, error-message sites, tests and comments (capture names: grammars/README.md); also
; the base of TypeScript and TSX, so only node types all three grammars share.

; --- imports -----------------------------------------------------------------------------------

; import x from "x", import { a } from "x", import * as x from "x", import "x"
(import_statement
  source: (string) @import.path) @import

; export { a } from "x", export * from "x", export * as x from "x"
(export_statement
  source: (string) @import.path) @import

; require("x")
((call_expression
  function: (identifier) @_require
  arguments: (arguments . (string) @import.path .)) @import
  (#eq? @_require "require"))

; import("x"), await import("x")
(call_expression
  function: (import)
  arguments: (arguments . (string) @import.path)) @import

; --- error-message sites -----------------------------------------------------------------------

; throw new Error("message"), throw new HttpError(`failed with ${status}`), throw new Error("a: " + b),
; throw Error("message"), throw createError("message")
(throw_statement
  [
    (new_expression
      arguments: (arguments
        .
        [
          (string) @error.message
          (template_string) @error.message
          (binary_expression left: [(string) (template_string)] @error.message)
          (binary_expression left: (binary_expression left: [(string) (template_string)] @error.message))
        ]))
    (call_expression
      arguments: (arguments
        .
        [
          (string) @error.message
          (template_string) @error.message
          (binary_expression left: [(string) (template_string)] @error.message)
          (binary_expression left: (binary_expression left: [(string) (template_string)] @error.message))
        ]))
  ]) @error.raise

; throw "message", throw `message ${x}`
(throw_statement
  [(string) (template_string)] @error.message) @error.raise

; Promise.reject(new Error("message")); reject(new Error("message")) in a Promise executor;
; callback(new Error("message")), next(new Error("message")) in Node callbacks and Express middleware
((call_expression
  function: [
    (member_expression object: (identifier) @_promise property: (property_identifier) @_reject)
    (identifier) @_reject
  ]
  arguments: (arguments
    .
    (new_expression
      arguments: (arguments
        .
        [
          (string) @error.message
          (template_string) @error.message
          (binary_expression left: [(string) (template_string)] @error.message)
          (binary_expression left: (binary_expression left: [(string) (template_string)] @error.message))
        ])))) @error.return
  (#any-of? @_reject "reject" "callback" "cb" "next" "done")
  (#eq? @_promise "Promise"))

; return new ValidationError("message")
((return_statement
  (new_expression
    constructor: (identifier) @_error
    arguments: (arguments
      .
      [
        (string) @error.message
        (template_string) @error.message
        (binary_expression left: [(string) (template_string)] @error.message)
        (binary_expression left: (binary_expression left: [(string) (template_string)] @error.message))
      ]))) @error.return
  (#match? @_error "Error$"))

; assert(condition, "message"), invariant(condition, "message")
((call_expression
  function: (identifier) @_assert
  arguments: (arguments
    .
    (_)
    .
    [(string) (template_string)] @error.message)) @error.panic
  (#any-of? @_assert "assert" "invariant"))

; console.error("..."), logger.error(`...`), log.fatal("..."), this.logger.error("..."), and the
; structured-logging form logger.error({ err }, "...") / logger.error(err, "...")
((call_expression
  function: (member_expression property: (property_identifier) @_level)
  arguments: (arguments
    .
    [
      (string) @error.message
      (template_string) @error.message
      (binary_expression left: [(string) (template_string)] @error.message)
      (binary_expression left: (binary_expression left: [(string) (template_string)] @error.message))
    ])) @error.log
  (#any-of? @_level "error" "fatal" "critical"))

((call_expression
  function: (member_expression property: (property_identifier) @_level)
  arguments: (arguments
    .
    [(object) (identifier)]
    .
    [(string) (template_string)] @error.message)) @error.log
  (#any-of? @_level "error" "fatal" "critical"))

; --- tests -------------------------------------------------------------------------------------

; describe("...", () => {...}), it("...", async () => {...}), test("...", { timeout }, () => {...}), and
; the focused/skipped forms fit/xit/fdescribe/xdescribe; a function argument must follow the name
((call_expression
  function: (identifier) @_test
  arguments: (arguments
    .
    [(string) (template_string)] @test.name
    [(arrow_function) (function_expression)])) @test
  (#any-of? @_test "describe" "it" "test" "suite" "context" "specify" "fdescribe" "xdescribe" "fit" "xit" "xtest"))

; it.only("..."), test.skip("..."), describe.concurrent("..."), it.todo("...")
((call_expression
  function: (member_expression
    object: (identifier) @_test
    property: (property_identifier) @_modifier)
  arguments: (arguments . [(string) (template_string)] @test.name)) @test
  (#any-of? @_test "describe" "it" "test" "suite" "context" "specify")
  (#any-of? @_modifier "only" "skip" "todo" "concurrent" "sequential" "failing" "fails"))

; test.each([...])("... %s", ...), describe.each`table`("..."), it.skip.each([...])("...")
((call_expression
  function: (call_expression
    function: (member_expression
      object: [
        (identifier) @_test
        (member_expression object: (identifier) @_test)
      ]
      property: (property_identifier) @_each))
  arguments: (arguments . [(string) (template_string)] @test.name)) @test
  (#any-of? @_test "describe" "it" "test" "suite")
  (#eq? @_each "each"))

(comment) @comment
