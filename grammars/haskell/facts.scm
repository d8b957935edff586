; Haskell imports, error-message sites, tests and comments (capture names: grammars/README.md).

; import qualified Data.Map as Map, import Data.Aeson (decode)
(import module: (module) @import.path) @import

; error "message", errorWithoutStackTrace "message", fail "message", userError "message"
((apply
  function: (variable) @_error
  argument: (literal (string) @error.message)) @error.raise
  (#any-of? @_error "error" "errorWithoutStackTrace" "fail" "userError" "throwString" "die"))

; Left "message"
((apply
  function: (constructor) @_left
  argument: (literal (string) @error.message)) @error.return
  (#eq? @_left "Left"))

; Hspec: it "does x" $ …, specify; tasty: testCase "name" $ …, testProperty
((infix
  left_operand: (apply
    function: (variable) @_it
    argument: (literal (string) @test.name))) @test
  (#any-of? @_it "it" "specify" "prop" "testCase" "testProperty" "testSpec"))

[(comment) (haddock)] @comment
