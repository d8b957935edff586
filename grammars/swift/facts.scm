; Swift imports, error-message sites, tests and comments (capture names: grammars/README.md).

; import Foundation, import struct CryptoKit.HMAC
(import_declaration (identifier) @import.path) @import

; throw SomeError.case("message"), throw MyError("message")
(control_transfer_statement
  (throw_keyword)
  (call_expression
    (call_suffix (value_arguments . (value_argument value: (line_string_literal) @error.message))))) @error.raise

; fatalError("message"), preconditionFailure("message"), precondition(x, "message"), assert…
((call_expression
  (simple_identifier) @_fatal
  (call_suffix (value_arguments . (value_argument value: (line_string_literal) @error.message)))) @error.panic
  (#any-of? @_fatal "fatalError" "preconditionFailure" "assertionFailure"))
((call_expression
  (simple_identifier) @_precondition
  (call_suffix (value_arguments (value_argument) . (value_argument value: (line_string_literal) @error.message)))) @error.panic
  (#any-of? @_precondition "precondition" "assert"))

; logger.error("..."), os_log(.error, "...")
((call_expression
  (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @_level))
  (call_suffix (value_arguments . (value_argument value: (line_string_literal) @error.message)))) @error.log
  (#any-of? @_level "error" "fault" "critical"))

; XCTest: func testSomething() in a class
((class_body
  (function_declaration
    name: (simple_identifier) @test.name) @test)
  (#match? @test.name "^test"))

[(comment) (multiline_comment)] @comment
