// The format checks (src/formats.ts) give the Python runtime's verdicts (runtime/leveret/_schema.py),
// and Ajv uses them: tests/codegen/test_typescript_conformance.py checks the JSON-Schema-Test-Suite's
// format files end to end; these pin the parts the suite barely reaches (Punycode, the IDNA2008
// rules, the Unicode tables) and the hook in validate.ts.

import * as assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { bidiClass, FORMATS, idnaLabelOk, joiningType, punycodeDecode } from '../src/formats';
import { check, readBody } from '../src/validate';

// Generated from the Python runtime's checks (leveret.schema format_check) on these strings:
// the TypeScript checks must give the same verdicts.
const PYTHON_VERDICTS: Record<string, [string, boolean][]> = {
  "date-time": [
    [
      "1998-12-31T23:59:60Z",
      true
    ],
    [
      "1998-12-31T15:59:60.123-08:00",
      true
    ],
    [
      "1998-12-31T23:59:60+01:00",
      false
    ],
    [
      "2016-12-31T24:59:60+01:00",
      false
    ],
    [
      "1985-04-12T23:20:50+01",
      false
    ],
    [
      "1985-04-12T00:59:59.999999999999999Z",
      true
    ],
    [
      "1985-04-12t23:20:50.52z",
      true
    ],
    [
      "0000-02-29T00:00:00Z",
      true
    ],
    [
      "2000-02-29T00:00:00Z",
      true
    ],
    [
      "1900-02-29T00:00:00Z",
      false
    ],
    [
      "2020-01-01T00:00:00",
      false
    ],
    [
      "2020-01-01 00:00:00Z",
      false
    ],
    [
      "2020-01-01T00:00:00+23:59",
      true
    ],
    [
      "2020-01-01T00:00:00+24:00",
      false
    ],
    [
      "\u0661990-01-01T00:00:00Z",
      false
    ],
    [
      "2020-01-01T00:00:00.Z",
      false
    ]
  ],
  "date": [
    [
      "2020-02-29",
      true
    ],
    [
      "2021-02-29",
      false
    ],
    [
      "2020-04-31",
      false
    ],
    [
      "2020-13-01",
      false
    ],
    [
      "2020-1-01",
      false
    ],
    [
      "0000-01-01",
      true
    ],
    [
      "2020-01-01\n",
      false
    ]
  ],
  "time": [
    [
      "23:59:60Z",
      true
    ],
    [
      "00:00:60+00:00",
      false
    ],
    [
      "12:00:00",
      false
    ],
    [
      "08:30:06.283185Z",
      true
    ],
    [
      "08:30:06 Z",
      false
    ],
    [
      "8:30:06Z",
      false
    ]
  ],
  "duration": [
    [
      "P4DT12H30M5S",
      true
    ],
    [
      "P1Y2D",
      false
    ],
    [
      "PT1H2S",
      false
    ],
    [
      "P4W",
      true
    ],
    [
      "P2W1D",
      false
    ],
    [
      "P",
      false
    ],
    [
      "PT",
      false
    ],
    [
      "P1D2H",
      false
    ],
    [
      "PT36H",
      true
    ],
    [
      "P0D",
      true
    ],
    [
      "P\u0661Y",
      false
    ]
  ],
  "email": [
    [
      "joe.bloggs@example.com",
      true
    ],
    [
      "\"joe bloggs\"@example.com",
      true
    ],
    [
      "\"joe@bloggs\"@example.com",
      true
    ],
    [
      "joe.bloggs@[127.0.0.1]",
      true
    ],
    [
      "joe.bloggs@[IPv6:::1]",
      true
    ],
    [
      "joe.bloggs@[IPv6:::01.2.3.4]",
      false
    ],
    [
      "2962",
      false
    ],
    [
      ".test@example.com",
      false
    ],
    [
      "te..st@example.com",
      false
    ],
    [
      "test@example.com.",
      false
    ],
    [
      "te~st@example.com",
      true
    ],
    [
      "test@xn--X",
      false
    ],
    [
      "test@[300.0.0.1]",
      false
    ]
  ],
  "hostname": [
    [
      "www.example.com",
      true
    ],
    [
      "example.",
      false
    ],
    [
      "-a-host-name",
      false
    ],
    [
      "not_a_valid_host_name",
      false
    ],
    [
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      true
    ],
    [
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      false
    ],
    [
      "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      false
    ],
    [
      "xn--4gbwdl.xn--wgbh1c",
      true
    ],
    [
      "xn--X",
      false
    ],
    [
      "xn--hello-txk",
      false
    ],
    [
      "XN--aa---o47jg78q",
      false
    ],
    [
      "xn--ihqwcrb4cv8a8dqg056pqjye",
      true
    ],
    [
      "xn--l-fda",
      false
    ],
    [
      "xn--ll-0ea",
      true
    ],
    [
      "xn--wva3j",
      false
    ],
    [
      "xn--wva3je",
      true
    ],
    [
      "xn--5db1e",
      false
    ],
    [
      "xn--4db6c0a",
      true
    ],
    [
      "xn--vek",
      false
    ],
    [
      "xn--bdk",
      true
    ],
    [
      "xn--ngb6iyr",
      false
    ],
    [
      "xn--02b508i",
      false
    ],
    [
      "xn--11b2er09f",
      false
    ],
    [
      "xn--11b2ezcw70k",
      true
    ],
    [
      "xn--ngba1o",
      true
    ],
    [
      "xn--ngba5hb2804a",
      true
    ],
    [
      "xn--dmc4b194h",
      true
    ],
    [
      "xn--07jceefgh4c",
      false
    ],
    [
      "xn--chb89f",
      false
    ],
    [
      "xn--mlju35u7qx",
      false
    ],
    [
      "xn----nmc",
      false
    ],
    [
      "xn--a-ecp.ru",
      false
    ],
    [
      "xn--ss-ssa",
      false
    ],
    [
      "xn--zca",
      true
    ],
    [
      "xn--nxa",
      true
    ],
    [
      "xn--bcher-kva",
      true
    ],
    [
      "xn--mnchen-3ya",
      true
    ],
    [
      "xn--lsa",
      false
    ],
    [
      "xn--p1ai",
      true
    ],
    [
      "xn--d1acufc",
      true
    ],
    [
      "xn--80ak6aa92e",
      true
    ],
    [
      "xn--fiqs8s",
      true
    ],
    [
      "xn--j1ail",
      true
    ],
    [
      "xn--e1afmkfd",
      true
    ],
    [
      "xn--mgbh0fb",
      true
    ],
    [
      "xn--1-0ga",
      true
    ],
    [
      "xn--a-0fa",
      true
    ],
    [
      "xn--eca",
      false
    ],
    [
      "xn--4db",
      true
    ],
    [
      "xn--4dbc",
      true
    ],
    [
      "xn--ngb",
      true
    ],
    [
      "xn--ngbc",
      true
    ],
    [
      "xn--8bi",
      false
    ]
  ],
  "ipv4": [
    [
      "192.168.0.1",
      true
    ],
    [
      "127.0.0.0.1",
      false
    ],
    [
      "256.256.256.256",
      false
    ],
    [
      "087.10.0.1",
      false
    ],
    [
      "1.2.3",
      false
    ],
    [
      "0.0.0.0",
      true
    ],
    [
      "\u09e8.1.1.1",
      false
    ],
    [
      "1.1.1.1\n",
      false
    ]
  ],
  "ipv6": [
    [
      "::1",
      true
    ],
    [
      "::abef",
      true
    ],
    [
      "12345::",
      false
    ],
    [
      "::ffff:192.168.0.1",
      true
    ],
    [
      "::ffff:192.168.0.01",
      false
    ],
    [
      "1:2:3:4:5:6:7:8",
      true
    ],
    [
      "1:2:3:4:5:6:7:8:9",
      false
    ],
    [
      "fe80::a%eth1",
      false
    ],
    [
      "::",
      true
    ],
    [
      "1::",
      true
    ],
    [
      "1:2:3:4:5:6:7::",
      true
    ],
    [
      "1:2:3:4:5:6::8",
      true
    ],
    [
      " ::1",
      false
    ],
    [
      "::1 ",
      false
    ],
    [
      "::1\n",
      false
    ],
    [
      "1:d6::42",
      true
    ],
    [
      "::42:ff:1",
      true
    ],
    [
      "100:100:100:100:100:100:255.255.255.255",
      true
    ],
    [
      "1::d6::42",
      false
    ],
    [
      ":2:3:4:5:6:7:8",
      false
    ],
    [
      "1:2:3:4:5:6:7:",
      false
    ]
  ],
  "uri": [
    [
      "http://foo.bar/?baz=qux#quux",
      true
    ],
    [
      "http://example.com:abc/path",
      false
    ],
    [
      "http://[::ffff:01.2.3.4]",
      false
    ],
    [
      "http:/[::1]",
      false
    ],
    [
      "urn:isbn:0451450523",
      true
    ],
    [
      "//foo.bar/?baz=qux#quux",
      false
    ],
    [
      "http:// shouldfail.com",
      false
    ],
    [
      "mailto:John.Doe@example.com",
      true
    ],
    [
      "tel:+1-816-555-1212",
      true
    ],
    [
      "http://\u00e9.com",
      false
    ],
    [
      "http://a_b.com",
      true
    ],
    [
      "http://[v1.fe80::a+en1]",
      true
    ]
  ],
  "uri-reference": [
    [
      "/abc",
      true
    ],
    [
      "//example.com:abc/p",
      false
    ],
    [
      "1:b",
      false
    ],
    [
      "./1:b",
      true
    ],
    [
      "/a\"b",
      false
    ],
    [
      "#fragment",
      true
    ],
    [
      "#frag\\ment",
      false
    ],
    [
      "",
      true
    ],
    [
      "?query",
      true
    ],
    [
      "//a@b@example.com/",
      false
    ]
  ],
  "uuid": [
    [
      "2EB8AA08-AA98-11EA-B4AA-73B441D16380",
      true
    ],
    [
      "urn:uuid:2eb8aa08-aa98-11ea-b4aa-73b441d16380",
      false
    ],
    [
      "2eb8aa08aa9811eab4aa73b441d16380",
      false
    ],
    [
      "{2eb8aa08-aa98-11ea-b4aa-73b441d16380}",
      false
    ],
    [
      "2eb8-aa08-aa98-11ea-b4aa73b4-41d16380",
      false
    ]
  ]
};
const PYTHON_BIDI: [number, string][] = [[65, "L"], [1488, "R"], [1575, "AL"], [1633, "AN"], [1777, "EN"], [49, "EN"], [45, "ES"], [768, "NSM"], [8204, "BN"], [8295, "RLI"], [65279, "BN"], [67840, "R"], [125184, "R"], [128512, "ON"], [917505, "BN"]];
const PYTHON_JOINING: [number, string][] = [[1576, "D"], [1575, "R"], [1600, "C"], [1611, "T"], [65, "U"], [8204, "U"], [1536, "U"], [43122, "L"], [69579, "L"], [125184, "D"]];

describe('format checks', () => {
  for (const [name, cases] of Object.entries(PYTHON_VERDICTS)) {
    it(`${name}: the Python runtime's verdicts`, () => {
      const checkFormat = FORMATS[name];
      assert.ok(checkFormat, name);
      const wrong = cases.filter(([text, valid]) => checkFormat(text) !== valid);
      assert.deepEqual(wrong, []);
      assert.ok(cases.some(([, valid]) => valid) && cases.some(([, valid]) => !valid));
    });
  }

  it('asserts exactly the formats the Python runtime does', () => {
    assert.deepEqual(Object.keys(FORMATS).sort(), [
      'date', 'date-time', 'duration', 'email', 'hostname', 'ipv4', 'ipv6', 'time', 'uri', 'uri-reference', 'uuid',
    ]);
  });
});

describe('Punycode and IDNA2008', () => {
  it('decodes Punycode as RFC 3492 (and Python) do', () => {
    assert.equal(punycodeDecode('bcher-kva'), 'bücher');
    assert.equal(punycodeDecode('4gbwdl'), '\u0639\u0644\u0648\u0645');
    assert.equal(punycodeDecode('ihqwcrb4cv8a8dqg056pqjye'), '\u4ed6\u4eec\u4e3a\u4ec0\u4e48\u4e0d\u8bf4\u4e2d\u6587');
    assert.equal(punycodeDecode('abc-'), 'abc');
    assert.equal(punycodeDecode('x'), null); // incomplete
    assert.equal(punycodeDecode('\u00e9-x'), null); // a basic code point that is not ASCII
    assert.equal(punycodeDecode('99999999999999'), null); // incomplete too
  });

  it('applies the contextual rules to decoded labels', () => {
    assert.equal(idnaLabelOk('l\u00b7l'), true);
    assert.equal(idnaLabelOk('a\u00b7l'), false);
    assert.equal(idnaLabelOk('\u05d0\u05f3'), true);
    assert.equal(idnaLabelOk('A\u05f3'), false);
    assert.equal(idnaLabelOk('\u30fb\u3041'), true);
    assert.equal(idnaLabelOk('\u30fbabc'), false);
    assert.equal(idnaLabelOk('\u0628\u200c\u0628'), true); // ZWNJ between joining letters
    assert.equal(idnaLabelOk('a\u200cb'), false);
    assert.equal(idnaLabelOk('\u0915\u094d\u200d'), true); // ZWJ after a virama
    assert.equal(idnaLabelOk('\u0300a'), false); // a leading mark
    assert.equal(idnaLabelOk('ab--c'), false);
    assert.equal(idnaLabelOk('e\u0301'), false); // not NFC
    assert.equal(idnaLabelOk('\u0661\u06f1'), false); // both kinds of Arabic-Indic digits
  });

  it("reads the Unicode tables as Python's unicodedata does", () => {
    for (const [code, expected] of PYTHON_BIDI) assert.equal(bidiClass(String.fromCodePoint(code)), expected, code.toString(16));
    for (const [code, expected] of PYTHON_JOINING) assert.equal(joiningType(String.fromCodePoint(code)), expected, code.toString(16));
  });
});

describe('the validators use them', () => {
  it('in check() and readBody()', () => {
    const schema = { type: 'object', properties: { host: { format: 'hostname' }, at: { type: 'string', format: 'date-time' } } };
    assert.equal(check(schema, { host: 'xn--4gbwdl.xn--wgbh1c', at: '1998-12-31T23:59:60Z' }), null);
    assert.deepEqual(check(schema, { host: 'xn--hello-txk' }), [
      { loc: ['host'], msg: "Input should match format 'hostname'", type: 'value_error' },
    ]);
    assert.deepEqual(check(schema, { at: '1985-04-12T23:20:50+01' }), [
      { loc: ['at'], msg: 'Input should be a valid datetime with a time zone', type: 'datetime_from_date_parsing' },
    ]);
    assert.throws(() => readBody(Buffer.from('{"host": "example."}'), schema));
  });

  it('and take own properties only (required: ["toString"] is not met by the prototype)', () => {
    const schema = { required: ['toString', 'constructor'] };
    assert.notEqual(check(schema, {}), null);
    assert.equal(check(schema, JSON.parse('{"toString": 1, "constructor": 2}')), null);
    assert.notEqual(check({ required: ['__proto__'] }, {}), null);
    assert.equal(check({ required: ['__proto__'] }, JSON.parse('{"__proto__": 1}')), null);
  });
});
