; OCaml imports, error-message sites, tests and comments (capture names: grammars/README.md).

; open Printf, include Foo
(open_module module: (module_path) @import.path) @import
(include_module module: (module_path) @import.path) @import

; failwith "message", invalid_arg "message", raise (Failure "message"), raise (My_error "message")
((application_expression
  function: (value_path (value_name) @_fail)
  argument: (string) @error.message) @error.raise
  (#any-of? @_fail "failwith" "invalid_arg"))
((application_expression
  function: (value_path (value_name) @_raise)
  argument: (parenthesized_expression
    (application_expression
      function: (constructor_path)
      argument: (string) @error.message))) @error.raise
  (#eq? @_raise "raise"))

; Error "message", Error (`Msg "message")
((application_expression
  function: (constructor_path (constructor_name) @_error)
  argument: (string) @error.message) @error.return
  (#eq? @_error "Error"))

; ppx_inline_test / ppx_expect: let%test "name" = …, let%expect_test "name" = …
((value_definition
  (attribute_id) @_test
  (let_binding pattern: (string) @test.name)) @test
  (#any-of? @_test "test" "test_unit" "expect_test"))

; Alcotest: Alcotest.test_case "name" `Quick f
((application_expression
  function: (value_path (value_name) @_test_case)
  .
  argument: (string) @test.name) @test
  (#eq? @_test_case "test_case"))

(comment) @comment
