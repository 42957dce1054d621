"""The stable diagnostic codes of the front end (load, meta-schema, semantics, keywords).

Users and tests match on these codes, so a code never changes meaning; retire it instead.

======  ========  ==================================================================
code    severity  meaning
======  ========  ==================================================================
LV100   error     the file cannot be read (missing, a folder, permission denied)
LV101   error     YAML or JSON syntax error
LV102   error     the file is not UTF-8 text
LV103   error     a mapping has the same key twice
LV104   error     a YAML construct JSON cannot hold (tags, non-scalar keys, alias loops, ``<<:``)
LV105   error     nested more than 100 levels deep (mappings and lists, counted through ``$ref``)
LV201   error     a required property is missing
LV202   error     an unknown property (``x-`` prefixed keys are allowed and ignored)
LV203   error     a value has the wrong type
LV204   error     a value is not one of the allowed values
LV205   error     a name does not follow its naming rule (PascalCase, snake_case, ...)
LV206   error     a value is out of range (empty list, non-positive timeout, duplicates ...)
LV207   error     a property needs another one (``service`` needs ``package`` ...)
LV208   error     a ``$ref`` is not of the form ``#/types/Name`` or ``file.yaml#/types/Name``
LV299   error     any other meta-schema violation
LV301   error     ``$ref`` to a type the file does not define
LV302   error     ``$ref`` to a file that does not exist
LV303   error     ``$ref`` to a type the other file does not define
LV304   error     a ``$ref`` chain that loops back on itself
LV305   error     a request, response or error details schema that is not an object
LV306   error     a method lists an error the file does not declare
LV307   error     two things get the same Python name in the generated package
LV308   error     a name the generated code cannot use (keyword, import, runtime name)
LV309   warning   ``required`` names a property that ``properties`` does not declare
LV310   error     two properties get the same Python attribute name
LV311   error     a request property shadows a parameter of the generated client method
LV312   error     a type from another file clashes with a different type of the same name
LV313   error     two definitions in one run generate the same package
LV314   error     two services in one run listen on the same queue
LV401   error     a JSON Schema keyword a definition cannot use (``$id``, anchors, ``$defs`` ...)
LV402   warning   an annotation-only keyword that has no effect on validation
LV403   error     an unknown keyword in a schema
LV404   retired   (was: constraints without ``type``; enforced since issue 11)
LV405   error     a keyword that does not apply to the schema's ``type``
LV406   retired   (was: ``enum``/``const`` values not enforced exactly; since issue 11 they are)
LV407   retired   (was: ``oneOf`` without a ``discriminator``; enforced since issue 11)
LV408   error     a ``discriminator`` the models cannot turn into a tagged union
LV409   retired   (was: keywords next to ``$ref``; enforced since issue 11)
LV410   error     a ``default`` that its own schema rejects
LV411   error     an ``enum``/``const`` value of a type the schema's ``type`` excludes
LV412   error     a regex leveret cannot run exactly in linear time (non-ECMA, too big, unbounded)
======  ========  ==================================================================
"""

from __future__ import annotations

from typing import Final

__all__ = ["CODES"]

#: Every code in use with its one-line meaning; a test checks that the front end emits no other
#: code. Retired codes are listed in the table above and never emitted again.
CODES: Final[dict[str, str]] = {
    line.split()[0]: " ".join(line.split()[2:])
    for line in (__doc__ or "").splitlines()
    if line.startswith("LV") and line.split()[1] != "retired"
}
