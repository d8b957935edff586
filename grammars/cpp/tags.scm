; C++-only definitions, added to the C queries. Derived from tree-sitter-cpp's queries/tags.scm (MIT).

(class_specifier name: (type_identifier) @name) @definition.class
