; Go imports, error-message sites, tests and comments (capture names: grammars/README.md).

(import_spec path: (_) @import.path) @import

; errors.New("..."), fmt.Errorf("..."), errors.Errorf("...")
((call_expression
  function: (selector_expression
    operand: (identifier) @_pkg
    field: (field_identifier) @_fn)
  arguments: (argument_list . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.return
  (#any-of? @_pkg "errors" "fmt" "xerrors")
  (#any-of? @_fn "New" "Errorf"))

; errors.Wrap(err, "..."), errors.Wrapf(err, "..."), status.Errorf(codes.NotFound, "...")
((call_expression
  function: (selector_expression
    operand: (identifier) @_pkg
    field: (field_identifier) @_fn)
  arguments: (argument_list . (_) . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.return
  (#any-of? @_pkg "errors" "status")
  (#any-of? @_fn "Wrap" "Wrapf" "Error" "Errorf"))

; panic("..."), panic(fmt.Sprintf("...")), panic(errors.New("...")), panic(fmt.Errorf("..."))
((call_expression
  function: (identifier) @_panic
  arguments: (argument_list
    .
    [
      (interpreted_string_literal) @error.message
      (raw_string_literal) @error.message
      (call_expression
        function: (selector_expression field: (field_identifier) @_fn)
        arguments: (argument_list . [(interpreted_string_literal) (raw_string_literal)] @error.message))
    ])) @error.panic
  (#eq? @_panic "panic")
  (#any-of? @_fn "Sprintf" "Sprint" "New" "Errorf"))

((call_expression
  function: (identifier) @_panic
  arguments: (argument_list . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.panic
  (#eq? @_panic "panic"))

; log.Panicf("..."), logger.Panic("...")
((call_expression
  function: (selector_expression
    operand: (_) @_logger
    field: (field_identifier) @_level)
  arguments: (argument_list . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.panic
  (#match? @_logger "(?i)(log|zap)")
  (#any-of? @_level "Panic" "Panicf" "Panicln" "Panicw" "DPanic" "DPanicf" "DPanicw"))

; log.Fatal("..."), log.Fatalf("..."), logger.Error("..."), slog.Error("..."), s.log.Errorf("...")
; (receivers whose name mentions log/zap only: t.Fatal and t.Errorf are test assertions)
((call_expression
  function: (selector_expression
    operand: (_) @_logger
    field: (field_identifier) @_level)
  arguments: (argument_list . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.log
  (#match? @_logger "(?i)(log|zap)")
  (#any-of? @_level "Fatal" "Fatalf" "Fatalln" "Fatalw" "Error" "Errorf" "Errorln" "Errorw" "ErrorContext"))

; logr style: logger.Error(err, "...")
((call_expression
  function: (selector_expression
    operand: (_) @_logger
    field: (field_identifier) @_level)
  arguments: (argument_list . (identifier) . [(interpreted_string_literal) (raw_string_literal)] @error.message)) @error.log
  (#match? @_logger "(?i)(log|zap)")
  (#eq? @_level "Error"))

; func TestXxx(t *testing.T), BenchmarkXxx, FuzzXxx, ExampleXxx (TestMain is the harness, not a test)
((function_declaration
  name: (identifier) @test.name) @test
  (#match? @test.name "^(Test|Benchmark|Fuzz|Example)([^a-z]|$)")
  (#not-eq? @test.name "TestMain"))

(comment) @comment
