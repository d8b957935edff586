; C# imports, error-message sites, tests and comments (capture names: grammars/README.md).

; using System.Text.Json; using Log = Microsoft.Extensions.Logging;
(using_directive [(identifier) (qualified_name)] @import.path .) @import

; throw new ArgumentException("message", …), throw new E($"message {x}")
(throw_statement
  (object_creation_expression
    arguments: (argument_list . (argument [(string_literal) (verbatim_string_literal) (interpolated_string_expression) (raw_string_literal)] @error.message)))) @error.raise
(throw_expression
  (object_creation_expression
    arguments: (argument_list . (argument [(string_literal) (verbatim_string_literal) (interpolated_string_expression) (raw_string_literal)] @error.message)))) @error.raise

; logger.LogError("..."), _log.LogCritical(ex, "..."), Log.Error("...")
((invocation_expression
  function: (member_access_expression name: (identifier) @_level)
  arguments: (argument_list (argument [(string_literal) (interpolated_string_expression)] @error.message))) @error.log
  (#any-of? @_level "LogError" "LogCritical" "Error" "Fatal"))

; Environment.FailFast("..."), Debug.Fail("...")
((invocation_expression
  function: (member_access_expression name: (identifier) @_fail)
  arguments: (argument_list . (argument [(string_literal) (interpolated_string_expression)] @error.message))) @error.panic
  (#any-of? @_fail "FailFast" "Fail"))

; xUnit [Fact]/[Theory], NUnit [Test]/[TestCase], MSTest [TestMethod]
((method_declaration
  (attribute_list (attribute name: (identifier) @_attribute))
  name: (identifier) @test.name) @test
  (#any-of? @_attribute "Fact" "Theory" "Test" "TestCase" "TestCaseSource" "TestMethod" "DataTestMethod"))

(comment) @comment
