; Elixir imports, error-message sites, tests and comments (capture names: grammars/README.md).

; alias App.Crypto.Signer, import Logger, require Logger, use GenServer
((call
  target: (identifier) @_import
  (arguments . (alias) @import.path)) @import
  (#any-of? @_import "alias" "import" "require" "use"))

; raise "message", raise ArgumentError, "message", raise Error, message: "message"
((call
  target: (identifier) @_raise
  (arguments . (string) @error.message)) @error.raise
  (#any-of? @_raise "raise" "reraise" "throw" "exit"))
((call
  target: (identifier) @_raise
  (arguments . (alias) . (string) @error.message)) @error.raise
  (#any-of? @_raise "raise" "reraise"))
((call
  target: (identifier) @_raise
  (arguments . (alias) . (keywords (pair value: (string) @error.message)))) @error.raise
  (#any-of? @_raise "raise" "reraise"))

; Logger.error("..."), Logger.critical "..."
((call
  target: (dot left: (alias) @_logger right: (identifier) @_level)
  (arguments . (string) @error.message)) @error.log
  (#eq? @_logger "Logger")
  (#any-of? @_level "error" "critical" "alert" "emergency"))

; {:error, "message"}
((tuple . (atom) @_error . (string) @error.message) @error.return
  (#eq? @_error ":error"))

; ExUnit: test "name" do … end
((call
  target: (identifier) @_test
  (arguments . (string) @test.name)) @test
  (#eq? @_test "test"))

(comment) @comment
