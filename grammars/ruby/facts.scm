; Ruby imports, error-message sites, tests and comments (capture names: grammars/README.md).

; require "json", require_relative "cookie_jar", load "x.rb"
((call
  method: (identifier) @_require
  arguments: (argument_list . (string) @import.path)) @import
  (#any-of? @_require "require" "require_relative" "load" "autoload"))

; raise "message", raise Error, "message", raise Error.new("message"), fail "message"
((call
  method: (identifier) @_raise
  arguments: (argument_list
    [
      (string) @error.message
      (call
        method: (identifier) @_new
        arguments: (argument_list . (string) @error.message))
    ])) @error.raise
  (#any-of? @_raise "raise" "fail"))

; logger.error("..."), Rails.logger.fatal "..."
((call
  method: (identifier) @_level
  arguments: (argument_list . (string) @error.message)) @error.log
  (#any-of? @_level "error" "fatal"))

; abort("message"), exit with a message
((call
  method: (identifier) @_abort
  arguments: (argument_list . (string) @error.message)) @error.panic
  (#eq? @_abort "abort"))

; RSpec: it "does x" do … end, specify, example, scenario; describe/context blocks are groups, not tests
((call
  method: (identifier) @_it
  arguments: (argument_list . (string) @test.name)
  block: (_)) @test
  (#any-of? @_it "it" "specify" "example" "scenario" "test"))

; minitest / Test::Unit: def test_something
((method
  name: (identifier) @test.name) @test
  (#match? @test.name "^test_"))

(comment) @comment
