; Python imports, error-message sites, tests and comments (capture names: grammars/README.md).

(import_statement
  name: [
    (dotted_name) @import.path
    (aliased_import name: (dotted_name) @import.path)
  ]) @import

(import_from_statement
  module_name: [(dotted_name) (relative_import)] @import.path) @import

; raise SomeError("message"), raise SomeError("message %s" % x), raise SomeError("message {}".format(x)),
; raise SomeError(_("translated message"))
(raise_statement
  (call
    arguments: (argument_list
      .
      [
        (string) @error.message
        (binary_operator left: (string) @error.message)
        (call
          function: (attribute object: (string) @error.message attribute: (identifier) @_format))
        (call
          function: (identifier) @_gettext
          arguments: (argument_list . (string) @error.message))
      ]))) @error.raise

; logger.error("..."), logging.exception("..."), log.critical("...")
((call
  function: (attribute attribute: (identifier) @_level)
  arguments: (argument_list . (string) @error.message)) @error.log
  (#any-of? @_level "error" "exception" "critical" "fatal"))

((function_definition
  name: (identifier) @test.name) @test
  (#match? @test.name "^test"))

(comment) @comment
