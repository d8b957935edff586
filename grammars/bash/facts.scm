; Bash imports, error-message sites, tests and comments (capture names: grammars/README.md).

; source ./lib/common.sh, . "$HOME/.deployrc"
((command
  name: (command_name (word) @_source)
  argument: [(word) (string) (raw_string)] @import.path) @import
  (#any-of? @_source "source" "."))

; echo "message" >&2 (then usually `return 1` / `exit 1`); a message needs a word in it, so that
; `printf '%s\n' "$*" >&2` inside a helper is not one.
((redirected_statement
  body: (command
    name: (command_name (word) @_echo)
    argument: [(string) (raw_string)] @error.message)
  redirect: (file_redirect destination: (number) @_fd)) @error.return
  (#any-of? @_echo "echo" "printf")
  (#eq? @_fd "2")
  (#match? @error.message "[A-Za-z][A-Za-z][A-Za-z]"))
((redirected_statement
  body: (command
    name: (command_name (word) @_echo)
    argument: [(string) (raw_string)] @error.message)
  redirect: (file_redirect (word) @_fd)) @error.return
  (#any-of? @_echo "echo" "printf")
  (#eq? @_fd "&2")
  (#match? @error.message "[A-Za-z][A-Za-z][A-Za-z]"))

; die "message", fatal "message", fail "message": the usual helper names
((command
  name: (command_name (word) @_die)
  .
  argument: [(string) (raw_string)] @error.message) @error.raise
  (#any-of? @_die "die" "fatal" "fail" "abort" "panic" "error" "err"))

; bats: @test "name" { … }
((command
  name: (command_name (word) @_test)
  .
  argument: [(string) (raw_string)] @test.name) @test
  (#eq? @_test "@test"))

(comment) @comment
