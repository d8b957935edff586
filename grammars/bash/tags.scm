; Bash definitions and references. tree-sitter-bash 0.25.1 ships no tags.scm; these follow the other
; languages' shape: functions, upper-case top-level variables (constants by convention), and calls to
; commands that are not shell builtins.

(function_definition
  name: (word) @name) @definition.function

((program
  (declaration_command
    (variable_assignment name: (variable_name) @name)) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))
((program
  (variable_assignment name: (variable_name) @name) @definition.constant)
  (#match? @name "^[A-Z][A-Z0-9_]*$"))

((command
  name: (command_name (word) @name)) @reference.call
  (#not-any-of? @name
    "echo" "printf" "set" "unset" "local" "export" "readonly" "declare" "return" "exit" "cd" "test"
    "[" "[[" "source" "." "read" "shift" "eval" "exec" "trap" "true" "false" ":" "break" "continue"
    "@test" "}" "run" "let" "wait" "command" "builtin" "type" "getopts" "pushd" "popd"))
