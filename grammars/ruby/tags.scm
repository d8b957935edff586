; Ruby definitions and references, from tree-sitter-ruby 0.23.1's queries/tags.scm (MIT), with the
; doc captures and the `#strip!`/`#select-adjacent!`/`#is-not? local` predicates left out (docs are
; attached in code; a raw query ignores those predicates). Bare identifiers are not references here:
; without `#is-not? local` every local variable would be one.

[
  (method
    name: (_) @name) @definition.method
  (singleton_method
    name: (_) @name) @definition.method
]

(alias
  name: (_) @name) @definition.method

[
  (class
    name: [
      (constant) @name
      (scope_resolution
        name: (_) @name)
    ]) @definition.class
  (singleton_class
    value: [
      (constant) @name
      (scope_resolution
        name: (_) @name)
    ]) @definition.class
]

(module
  name: [
    (constant) @name
    (scope_resolution
      name: (_) @name)
  ]) @definition.module

; MAX_AGE = 3600 at class or module level
(body_statement
  (assignment
    left: (constant) @name) @definition.constant)
(program
  (assignment
    left: (constant) @name) @definition.constant)

((call method: (identifier) @name) @reference.call
  (#not-match? @name "^(require|require_relative|load|raise|fail|new|include|extend|private|public|protected|attr_reader|attr_writer|attr_accessor)$"))

(superclass (constant) @name) @reference.type
(superclass (scope_resolution name: (constant) @name)) @reference.type
(scope_resolution name: (constant) @name) @reference.type
((constant) @name @reference.type
  (#not-match? @name "^(ENV|ARGV|STDIN|STDOUT|STDERR)$"))
