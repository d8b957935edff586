; C++-only imports, error-message sites and tests, added to c/facts.scm (which has #include, C error
; sites, test_* functions and comments).

; using namespace std;
(using_declaration
  "namespace"
  [(identifier) (qualified_identifier)] @import.path) @import

; throw std::runtime_error("..."), throw NotFound("..." + name), throw Error(fmt::format("...")),
; throw Error{"..."}, throw Error(R"(...)")
(throw_statement
  [
    (call_expression
      arguments: (argument_list
        .
        [
          (string_literal) @error.message
          (raw_string_literal) @error.message
          (concatenated_string . [(string_literal) (raw_string_literal)] @error.message)
          (binary_expression left: (string_literal) @error.message)
          (binary_expression left: (binary_expression left: (string_literal) @error.message))
          (call_expression arguments: (argument_list . [(string_literal) (raw_string_literal)] @error.message))
        ]))
    (compound_literal_expression
      value: (initializer_list
        .
        [
          (string_literal) @error.message
          (raw_string_literal) @error.message
          (binary_expression left: (string_literal) @error.message)
        ]))
  ]) @error.raise

; LOG(ERROR) << "...", LOG(FATAL) << "..." (glog), PLOG(ERROR) << "...", LOG_IF(ERROR, cond) << "..."
((binary_expression
  left: (call_expression
    function: (identifier) @_log
    arguments: (argument_list . (identifier) @_level))
  operator: "<<"
  right: [(string_literal) (raw_string_literal)] @error.message) @error.log
  (#any-of? @_log "LOG" "PLOG" "DLOG" "LOG_IF" "PLOG_IF" "LOG_EVERY_N" "LOG_FIRST_N" "VLOG")
  (#any-of? @_level "ERROR" "FATAL" "DFATAL" "QFATAL"))

; std::cerr << "...", cerr << "...", qCritical() << "..."
((binary_expression
  left: [
    (identifier) @_stream
    (qualified_identifier name: (identifier) @_stream)
    (call_expression function: (identifier) @_stream)
  ]
  operator: "<<"
  right: [(string_literal) (raw_string_literal)] @error.message) @error.log
  (#any-of? @_stream "cerr" "qCritical" "qFatal"))

; spdlog::error("..."), spdlog::critical("..."), logger->error("..."), log.error("...")
((call_expression
  function: [
    (qualified_identifier name: (identifier) @_level)
    (field_expression field: (field_identifier) @_level)
  ]
  arguments: (argument_list . [(string_literal) (raw_string_literal)] @error.message)) @error.log
  (#any-of? @_level "error" "critical" "fatal"))

; gtest and Boost.Test macros are tests too: see cpp/tags.scm.

; Catch2 / doctest: TEST_CASE("name", "[tag]") { } parses as a call followed by a block; the test is
; the block. TEST_CASE_METHOD(Fixture, "name") { }
((expression_statement
  (call_expression
    function: (identifier) @_macro
    arguments: (argument_list . (string_literal) @test.name)))
  .
  (compound_statement) @test
  (#any-of? @_macro "TEST_CASE" "SCENARIO" "TEMPLATE_TEST_CASE"))

((expression_statement
  (call_expression
    function: (identifier) @_macro
    arguments: (argument_list . (_) . (string_literal) @test.name)))
  .
  (compound_statement) @test
  (#any-of? @_macro "TEST_CASE_METHOD" "TEMPLATE_TEST_CASE_METHOD"))
