; C imports, error-message sites, tests and comments, shared with C++ (capture names: grammars/README.md).

; #include <stdio.h>, #include "buffer.h"
(preproc_include
  path: [(system_lib_string) (string_literal)] @import.path) @import

; fprintf(stderr, "..."), fprintf(stderr, "..." "...")
((call_expression
  function: (identifier) @_print
  arguments: (argument_list
    .
    (identifier) @_stream
    .
    [
      (string_literal) @error.message
      (concatenated_string . (string_literal) @error.message)
    ])) @error.log
  (#any-of? @_print "fprintf" "vfprintf" "dprintf")
  (#eq? @_stream "stderr"))

; fputs("...", stderr)
((call_expression
  function: (identifier) @_print
  arguments: (argument_list . (string_literal) @error.message . (identifier) @_stream)) @error.log
  (#eq? @_print "fputs")
  (#eq? @_stream "stderr"))

; perror("..."), warn("..."), error("...") (a project's own), pr_err("...") (Linux): the first argument;
; err(1, "..."), errx(1, "..."), dev_err(dev, "..."): the second; error(1, errno, "...") (glibc): the third.
; One pattern rather than three: every pattern costs tree-sitter-cpp milliseconds to compile.
((call_expression
  function: (identifier) @_log
  arguments: [
    (argument_list
      .
      [
        (string_literal) @error.message
        (concatenated_string . (string_literal) @error.message)
      ])
    (argument_list
      .
      (_)
      .
      [
        (string_literal) @error.message
        (concatenated_string . (string_literal) @error.message)
      ])
    (argument_list
      .
      (_)
      .
      (_)
      .
      [
        (string_literal) @error.message
        (concatenated_string . (string_literal) @error.message)
      ])
  ]) @error.log
  (#any-of? @_log
    "perror" "warn" "warnx" "vwarn" "vwarnx" "error" "error_at_line" "log_error" "log_err" "err" "errx"
    "verr" "verrx" "pr_err" "pr_crit" "pr_alert" "pr_emerg" "dev_err" "dev_crit" "dev_alert" "dev_emerg"))

; syslog(LOG_ERR, "...")
((call_expression
  function: (identifier) @_log
  arguments: (argument_list . (identifier) @_level . (string_literal) @error.message)) @error.log
  (#eq? @_log "syslog")
  (#any-of? @_level "LOG_ERR" "LOG_CRIT" "LOG_ALERT" "LOG_EMERG"))

; die("..."), fatal("..."), panic("..."), BUG_ON-style helpers that abort
((call_expression
  function: (identifier) @_die
  arguments: (argument_list
    .
    [
      (string_literal) @error.message
      (concatenated_string . (string_literal) @error.message)
    ])) @error.panic
  (#any-of? @_die "die" "fatal" "panic" "abort_msg" "fatal_error"))

; assert(ok && "...")
((call_expression
  function: (identifier) @_assert
  arguments: (argument_list
    (binary_expression
      operator: "&&"
      right: (string_literal) @error.message))) @error.panic
  (#any-of? @_assert "assert" "static_assert" "_Static_assert"))

; #error "..."
((preproc_call
  directive: (preproc_directive) @_directive
  argument: (preproc_arg) @error.message) @error.panic
  (#eq? @_directive "#error"))

; void test_parse(void) { } (Unity, cmocka, CUnit, Check's helpers)
((function_definition
  declarator: [
    (function_declarator declarator: (identifier) @test.name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @test.name))
  ]) @test
  (#match? @test.name "^test_"))

(comment) @comment
