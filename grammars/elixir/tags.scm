; Elixir definitions and references, from tree-sitter-elixir 0.3.5's queries/tags.scm (Apache-2.0).
; The upstream "ignore" patterns (kernel calls, module attributes) are predicates on the reference
; patterns here instead; module attributes other than the documentation and type ones are constants;
; macros are told apart from functions. Docs come from `@doc`/`@moduledoc` (see extract.rs).

; * modules and protocols
((call
  target: (identifier) @_def
  (arguments (alias) @name)) @definition.module
  (#any-of? @_def "defmodule" "defprotocol" "defimpl"))

; * macros
((call
  target: (identifier) @_def
  (arguments
    [
      (identifier) @name
      (call target: (identifier) @name)
      (binary_operator
        left: (call target: (identifier) @name)
        operator: "when")
    ])) @definition.macro
  (#any-of? @_def "defmacro" "defmacrop" "defguard" "defguardp"))

; * functions
((call
  target: (identifier) @_def
  (arguments
    [
      ; zero-arity functions with no parentheses
      (identifier) @name
      ; regular function clause
      (call target: (identifier) @name)
      ; function clause with a guard clause
      (binary_operator
        left: (call target: (identifier) @name)
        operator: "when")
    ])) @definition.function
  (#any-of? @_def "def" "defp" "defdelegate" "defn" "defnp"))

; * module attributes: @max_age 3600
((unary_operator
  operator: "@"
  operand: (call
    target: (identifier) @name
    (arguments))) @definition.constant
  (#not-any-of? @name "doc" "moduledoc" "typedoc" "spec" "type" "typep" "opaque" "callback" "macrocallback"
    "behaviour" "impl" "derive" "enforce_keys" "dialyzer" "compile" "deprecated" "since" "tag" "moduletag" "describetag"))

; References

; * function call (not the kernel's special forms and definitions)
((call
  target: [
   ; local
   (identifier) @name
   ; remote
   (dot
     right: (identifier) @name)
  ]) @reference.call
  (#not-any-of? @name "def" "defp" "defdelegate" "defguard" "defguardp" "defmacro" "defmacrop" "defn" "defnp"
    "defmodule" "defprotocol" "defimpl" "defstruct" "defexception" "defoverridable" "alias" "case" "cond"
    "else" "for" "if" "import" "quote" "raise" "receive" "require" "reraise" "super" "throw" "try" "unless"
    "unquote" "unquote_splicing" "use" "with" "test" "describe" "doc" "moduledoc" "spec"))

; * pipe into function call
(binary_operator
  operator: "|>"
  right: (identifier) @name) @reference.call

; * modules
(alias) @name @reference.type
