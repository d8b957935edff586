; PHP imports, error-message sites, tests and comments (capture names: grammars/README.md).

; use App\Crypto\Signer; use Psr\Log\LoggerInterface as Logger;
(namespace_use_declaration
  (namespace_use_clause . [(qualified_name) (name)] @import.path)) @import

; require 'x.php', require_once __DIR__ . '/x.php', include …
([
  (require_expression [(string) (encapsed_string)] @import.path)
  (require_once_expression [(string) (encapsed_string)] @import.path)
  (include_expression [(string) (encapsed_string)] @import.path)
  (include_once_expression [(string) (encapsed_string)] @import.path)
  (require_expression (binary_expression right: [(string) (encapsed_string)] @import.path))
  (require_once_expression (binary_expression right: [(string) (encapsed_string)] @import.path))
  (include_expression (binary_expression right: [(string) (encapsed_string)] @import.path))
  (include_once_expression (binary_expression right: [(string) (encapsed_string)] @import.path))
] @import)

; throw new SomeException("message"), throw new E(sprintf("message %s", $x)). (Separate patterns: an
; alternation nested in an alternation under an anchor does not match in tree-sitter 0.27.)
(throw_expression
  (object_creation_expression
    (arguments . (argument [(string) (encapsed_string)] @error.message)))) @error.raise
(throw_expression
  (object_creation_expression
    (arguments
      .
      (argument
        (function_call_expression
          arguments: (arguments . (argument [(string) (encapsed_string)] @error.message))))))) @error.raise

; $this->logger->error("..."), Log::critical('...'), error_log("...")
((member_call_expression
  name: (name) @_level
  arguments: (arguments . (argument [(string) (encapsed_string)] @error.message))) @error.log
  (#any-of? @_level "error" "critical" "alert" "emergency"))
((scoped_call_expression
  name: (name) @_level
  arguments: (arguments . (argument [(string) (encapsed_string)] @error.message))) @error.log
  (#any-of? @_level "error" "critical" "alert" "emergency"))
((function_call_expression
  function: (name) @_log
  arguments: (arguments . (argument [(string) (encapsed_string)] @error.message))) @error.log
  (#eq? @_log "error_log"))

; die("message"), exit("message"), trigger_error("message")
((function_call_expression
  function: (name) @_die
  arguments: (arguments . (argument [(string) (encapsed_string)] @error.message))) @error.panic
  (#any-of? @_die "trigger_error" "user_error"))
(exit_statement [(string) (encapsed_string)] @error.message) @error.panic

; PHPUnit: public function testSomething(), or a method with a @test doc comment / #[Test] attribute
((method_declaration
  name: (name) @test.name) @test
  (#match? @test.name "^test"))
((method_declaration
  attributes: (attribute_list (attribute_group (attribute (name) @_test)))
  name: (name) @test.name) @test
  (#eq? @_test "Test"))

(comment) @comment
