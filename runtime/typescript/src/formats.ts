// The formats leveret asserts, with the Python runtime's exact checks (runtime/leveret/_schema.py):
// date-time, date, time, duration, email, hostname, ipv4, ipv6, uri, uri-reference and uuid.
// ajv-formats' own checks differ from them (no IDNA2008 rules for A-labels, an offset without
// minutes or a trailing dot in a hostname accepted, RFC 5321 quoted local parts and address
// literals refused, ...), and a TypeScript peer must give a body the verdict a Python one gives.

import type Ajv from 'ajv';

export type FormatCheck = (text: string) => boolean;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

export function isDate(text: string): boolean {
  // By hand, not with Date: RFC 3339's year is any 4 digits, 0000 too.
  const m = DATE.exec(text);
  if (m === null) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1) return false;
  if (month === 2) {
    const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
    return day <= (leap ? 29 : 28);
  }
  return day <= ([4, 6, 9, 11].includes(month) ? 30 : 31);
}

export function isTime(text: string): boolean {
  const m = TIME.exec(text);
  if (m === null) return false;
  const [hour, minute, second] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (hour > 23 || minute > 59 || second > 60) return false;
  let offset = 0;
  if (m[4] !== undefined) {
    const [offH, offM] = [Number(m[5]), Number(m[6])];
    if (offH > 23 || offM > 59) return false;
    offset = (offH * 60 + offM) * (m[4] === '+' ? 1 : -1);
  }
  if (second === 60) {
    // A leap second is inserted at 23:59:60 UTC only.
    const utc = (((hour * 60 + minute - offset) % 1440) + 1440) % 1440;
    return utc === 23 * 60 + 59;
  }
  return true;
}

export function isDateTime(text: string): boolean {
  if (text.length < 11 || (text[10] !== 'T' && text[10] !== 't')) return false;
  return isDate(text.slice(0, 10)) && isTime(text.slice(11));
}

const DURATION = new RegExp(
  '^P(?:\\d+W|(?:\\d+Y(?:\\d+M(?:\\d+D)?)?|\\d+M(?:\\d+D)?|\\d+D)(?:T(?:\\d+H(?:\\d+M(?:\\d+S)?)?|\\d+M(?:\\d+S)?|\\d+S))?' +
    '|T(?:\\d+H(?:\\d+M(?:\\d+S)?)?|\\d+M(?:\\d+S)?|\\d+S))$',
);
const UUID = /^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$/;
const DEC_OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^(?:${DEC_OCTET}\\.){3}${DEC_OCTET}$`);
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function isIpv4(text: string): boolean {
  return IPV4.test(text);
}

// RFC 3986 appendix A (and RFC 4291's text forms), as regular expressions: the same as Python's.
const UNRESERVED = 'A-Za-z0-9\\-._~';
const SUB_DELIMS = "!$&'()*+,;=";
const PCT = '%[0-9A-Fa-f]{2}';
const PCHAR = `(?:[${UNRESERVED}${SUB_DELIMS}:@]|${PCT})`;
const IPV4_RE = `${DEC_OCTET}(?:\\.${DEC_OCTET}){3}`;
const H16 = '[0-9A-Fa-f]{1,4}';
const LS32 = `(?:${H16}:${H16}|${IPV4_RE})`;
const IPV6_RE =
  '(?:' +
  [
    `(?:${H16}:){6}${LS32}`,
    `::(?:${H16}:){5}${LS32}`,
    `(?:${H16})?::(?:${H16}:){4}${LS32}`,
    `(?:(?:${H16}:){0,1}${H16})?::(?:${H16}:){3}${LS32}`,
    `(?:(?:${H16}:){0,2}${H16})?::(?:${H16}:){2}${LS32}`,
    `(?:(?:${H16}:){0,3}${H16})?::${H16}:${LS32}`,
    `(?:(?:${H16}:){0,4}${H16})?::${LS32}`,
    `(?:(?:${H16}:){0,5}${H16})?::${H16}`,
    `(?:(?:${H16}:){0,6}${H16})?::`,
  ].join('|') +
  ')';
const IPV6 = new RegExp(`^${IPV6_RE}$`);
const IP_LITERAL = `\\[(?:${IPV6_RE}|[vV][0-9A-Fa-f]+\\.[${UNRESERVED}${SUB_DELIMS}:]+)\\]`;
const AUTHORITY =
  `(?:(?:[${UNRESERVED}${SUB_DELIMS}:]|${PCT})*@)?` +
  `(?:${IP_LITERAL}|(?:[${UNRESERVED}${SUB_DELIMS}]|${PCT})*)` +
  '(?::[0-9]*)?';
const SEGMENT_NZ_NC = `(?:[${UNRESERVED}${SUB_DELIMS}@]|${PCT})+`;
const HIER = `(?://${AUTHORITY}(?:/${PCHAR}*)*|/(?:${PCHAR}+(?:/${PCHAR}*)*)?|${PCHAR}+(?:/${PCHAR}*)*|)`;
const RELATIVE =
  `(?://${AUTHORITY}(?:/${PCHAR}*)*|/(?:${PCHAR}+(?:/${PCHAR}*)*)?` + `|${SEGMENT_NZ_NC}(?:/${PCHAR}*)*|)`;
const QUERY_FRAGMENT = `(?:\\?(?:${PCHAR}|[/?])*)?(?:#(?:${PCHAR}|[/?])*)?`;
const URI = new RegExp(`^[A-Za-z][A-Za-z0-9+\\-.]*:${HIER}${QUERY_FRAGMENT}$`);
const RELATIVE_REF = new RegExp(`^${RELATIVE}${QUERY_FRAGMENT}$`);

export function isIpv6(text: string): boolean {
  // Python's ipaddress.IPv6Address: RFC 4291's text forms (an embedded IPv4 without leading
  // zeros), no "%scope" suffix.
  return IPV6.test(text);
}

export function isUri(text: string): boolean {
  return URI.test(text);
}

export function isUriReference(text: string): boolean {
  return URI.test(text) || RELATIVE_REF.test(text);
}

const EMAIL_ATOM = "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+";
const EMAIL_LOCAL = new RegExp(
  `^(?:${EMAIL_ATOM}(?:\\.${EMAIL_ATOM})*|"(?:[\\x20\\x21\\x23-\\x5b\\x5d-\\x7e]|\\\\[\\x20-\\x7e])*")$`,
);

export function isEmail(text: string): boolean {
  const at = text.lastIndexOf('@');
  if (at <= 0) return false;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (!EMAIL_LOCAL.test(local)) return false;
  if (domain.startsWith('[') && domain.endsWith(']')) {
    const literal = domain.slice(1, -1);
    if (literal.slice(0, 5).toLowerCase() === 'ipv6:') return isIpv6(literal.slice(5));
    return isIpv4(literal);
  }
  return isHostname(domain);
}

export function isHostname(text: string): boolean {
  if (!text || text.length > 253 || !/^[\x00-\x7f]*$/.test(text)) return false;
  for (const label of text.split('.')) {
    if (!LABEL.test(label)) return false;
    if (label.slice(2, 4) === '--') {
      if (label.slice(0, 2).toLowerCase() !== 'xn') return false;
      const decoded = punycodeDecode(label.slice(4).toLowerCase()); // DNS: no case
      if (decoded === null || !idnaLabelOk(decoded)) return false;
    }
  }
  return true;
}

// -- Punycode (RFC 3492), decoding as Python's "punycode" codec does -----------------------------

const BASE = 36;
const T_MIN = 1;
const T_MAX = 26;
const SKEW = 38;
const DAMP = 700;

function adapt(delta: number, points: number, first: boolean): number {
  delta = first ? Math.floor(delta / DAMP) : delta >> 1;
  delta += Math.floor(delta / points);
  let k = 0;
  while (delta > ((BASE - T_MIN) * T_MAX) >> 1) {
    delta = Math.floor(delta / (BASE - T_MIN));
    k += BASE;
  }
  return k + Math.floor(((BASE - T_MIN + 1) * delta) / (delta + SKEW));
}

function digitOf(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 22; // '0'-'9' -> 26-35
  if (code >= 0x61 && code <= 0x7a) return code - 0x61; // 'a'-'z' -> 0-25
  if (code >= 0x41 && code <= 0x5a) return code - 0x41;
  return -1;
}

/** The Unicode text of a Punycode string (without "xn--"), or null when it is not Punycode. */
export function punycodeDecode(input: string): string | null {
  const dash = input.lastIndexOf('-');
  const output: number[] = [];
  for (let j = 0; j < Math.max(dash, 0); j++) {
    const code = input.charCodeAt(j);
    if (code >= 0x80) return null;
    output.push(code);
  }
  let n = 128;
  let i = 0;
  let bias = 72;
  for (let pos = dash + 1; pos < input.length; ) {
    const old = i;
    let w = 1;
    for (let k = BASE; ; k += BASE) {
      if (pos >= input.length) return null;
      const digit = digitOf(input.charCodeAt(pos++));
      if (digit < 0) return null;
      i += digit * w;
      if (i > 0x10ffff * (output.length + 1) + 0x10ffff) return null;
      const t = k <= bias ? T_MIN : k >= bias + T_MAX ? T_MAX : k - bias;
      if (digit < t) break;
      w *= BASE - t;
    }
    bias = adapt(i - old, output.length + 1, old === 0);
    n += Math.floor(i / (output.length + 1));
    i %= output.length + 1;
    if (n > 0x10ffff) return null;
    output.splice(i, 0, n);
    i += 1;
  }
  try {
    return String.fromCodePoint(...output);
  } catch {
    return null;
  }
}

// -- IDNA2008 (RFC 5891, 5892, 5893) for decoded A-labels ---------------------------------------

const IDNA_DISALLOWED = new Set([...'\u0640\u07fa\u302e\u302f\u3031\u3032\u3033\u3034\u3035\u303b']);
const IDNA_PVALID = new Set([...'\u00df\u03c2\u06fd\u06fe\u0f0b\u3007']);
const IDNA_CONTEXT = new Set([
  ...'\u00b7\u0375\u05f3\u05f4\u30fb\u200c\u200d',
  ...Array.from({ length: 10 }, (_, k) => String.fromCodePoint(0x660 + k)),
  ...Array.from({ length: 10 }, (_, k) => String.fromCodePoint(0x6f0 + k)),
]);
/** RFC 5892 2.3 IgnorableProperties, 2.4 IgnorableBlocks and 2.9 OldHangulJamo. */
const IDNA_EXCLUDED: readonly (readonly [number, number])[] = [
  [0x034f, 0x034f],
  [0x1100, 0x11ff],
  [0x17b4, 0x17b5],
  [0x180b, 0x180f],
  [0x20d0, 0x20ff],
  [0x3164, 0x3164],
  [0xa960, 0xa97f],
  [0xd7b0, 0xd7ff],
  [0xfe00, 0xfe0f],
  [0xffa0, 0xffa0],
  [0x1d100, 0x1d24f],
  [0xe0100, 0xe01ef],
];
/** RFC 5892 2.1 LetterDigits. */
const LETTER_DIGITS = /^[\p{Ll}\p{Lu}\p{Lo}\p{Nd}\p{Lm}\p{Mn}\p{Mc}]$/u;
const MARK = /^[\p{Mn}\p{Mc}\p{Me}]$/u;

function idnaAllowed(ch: string): boolean {
  if (IDNA_PVALID.has(ch) || IDNA_CONTEXT.has(ch) || ch === '-') return true; // "-": 2.6 LDH
  const code = ch.codePointAt(0)!;
  if (IDNA_DISALLOWED.has(ch) || IDNA_EXCLUDED.some(([low, high]) => low <= code && code <= high)) return false;
  if (!LETTER_DIGITS.test(ch)) return false; // unassigned too
  // 2.2 Unstable: toNFKC(toCaseFold(toNFKC(cp))) != cp (case folding as lower-casing: the
  // code points where they differ are exceptions above or not letters of a label)
  return ch.normalize('NFKC').toLowerCase().normalize('NFKC') === ch;
}

const GREEK = /^\p{Script=Greek}$/u;
const HEBREW = /^\p{Script=Hebrew}$/u;
const KANA_HAN = /^[\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Han}]$/u;

/** A decoded A-label is IDNA2008: the rules of Python's _idna_context_ok. */
export function idnaLabelOk(label: string): boolean {
  const chars = [...label];
  if (chars.length === 0 || chars.slice(2, 4).join('') === '--' || MARK.test(chars[0]!)) return false;
  if (chars[0] === '-' || chars[chars.length - 1] === '-') return false; // RFC 5891 4.2.3.1
  if (label.normalize('NFC') !== label) return false;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (!idnaAllowed(ch)) return false;
    if (ch === '\u00b7') {
      // MIDDLE DOT: between two "l"
      if (!(i > 0 && i < chars.length - 1 && chars[i - 1] === 'l' && chars[i + 1] === 'l')) return false;
    } else if (ch === '\u0375') {
      // GREEK KERAIA: followed by Greek
      if (i + 1 >= chars.length || !GREEK.test(chars[i + 1]!)) return false;
    } else if (ch === '\u05f3' || ch === '\u05f4') {
      // HEBREW GERESH/GERSHAYIM: preceded by Hebrew
      if (i === 0 || !HEBREW.test(chars[i - 1]!)) return false;
    } else if (ch === '\u30fb') {
      // KATAKANA MIDDLE DOT: with Hiragana, Katakana or Han
      if (!chars.some((o) => o !== '\u30fb' && KANA_HAN.test(o))) return false;
    } else if (ch === '\u200c' || ch === '\u200d') {
      // ZERO WIDTH (NON-)JOINER: after a virama
      if (i > 0 && VIRAMAS.has(chars[i - 1]!.codePointAt(0)!)) continue;
      if (ch === '\u200d' || !betweenJoiningLetters(chars, i)) return false;
    }
  }
  const arabic = chars.some((c) => c >= '\u0660' && c <= '\u0669');
  const extended = chars.some((c) => c >= '\u06f0' && c <= '\u06f9');
  return !(arabic && extended) && bidiOk(chars);
}

/** ``D``, ``L``, ``R``, ``C``, ``T`` (transparent) or ``U`` (non-joining). */
export function joiningType(ch: string): string {
  const code = ch.codePointAt(0)!;
  let low = 0;
  let high = JOINING.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [first, last, type] = JOINING[mid]!;
    if (code < first) high = mid - 1;
    else if (code > last) low = mid + 1;
    else return type;
  }
  return /^[\p{Mn}\p{Me}\p{Cf}]$/u.test(ch) && !NOT_TRANSPARENT.has(code) ? 'T' : 'U';
}

/** RFC 5892 A.1: (Joining_Type:{L,D})(Joining_Type:T)* ZWNJ (Joining_Type:T)* (Joining_Type:{R,D}). */
function betweenJoiningLetters(chars: string[], at: number): boolean {
  const before = chars.slice(0, at).reverse().map(joiningType).find((t) => t !== 'T') ?? 'U';
  const after = chars.slice(at + 1).map(joiningType).find((t) => t !== 'T') ?? 'U';
  return (before === 'L' || before === 'D') && (after === 'R' || after === 'D');
}

let bidiStarts: number[] | null = null;
let bidiTypes: string[] | null = null;

/** The Bidi_Class of a code point (Python's unicodedata.bidirectional). */
export function bidiClass(ch: string): string {
  if (bidiStarts === null || bidiTypes === null) {
    bidiStarts = [];
    bidiTypes = [];
    for (const run of BIDI_RUNS.split(',')) {
      bidiStarts.push(parseInt(run.slice(0, -1), 16));
      bidiTypes.push(BIDI_CLASSES[run.charCodeAt(run.length - 1) - 0x61]!);
    }
  }
  const code = ch.codePointAt(0)!;
  let low = 0;
  let high = bidiStarts.length - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (bidiStarts[mid]! <= code) low = mid;
    else high = mid - 1;
  }
  return bidiTypes[low]!;
}

const RTL_ALLOWED = new Set(['R', 'AL', 'AN', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);
const LTR_ALLOWED = new Set(['L', 'EN', 'ES', 'CS', 'ET', 'ON', 'BN', 'NSM']);

/** The Bidi rule (RFC 5893 section 2) for a label with right-to-left characters. */
function bidiOk(chars: string[]): boolean {
  const directions = chars.map(bidiClass);
  if (!directions.some((d) => d === 'R' || d === 'AL' || d === 'AN')) return true;
  const rtl = directions[0] === 'R' || directions[0] === 'AL';
  if (!rtl && directions[0] !== 'L') return false; // rule 1
  const allowed = rtl ? RTL_ALLOWED : LTR_ALLOWED;
  const endings = rtl ? ['R', 'AL', 'EN', 'AN'] : ['L', 'EN'];
  if (directions.some((d) => !allowed.has(d))) return false; // rules 2 and 5
  if (rtl && directions.includes('AN') && directions.includes('EN')) return false; // rule 4
  const last = [...directions].reverse().find((d) => d !== 'NSM');
  return last !== undefined && endings.includes(last); // rules 3 and 6
}

/** The formats leveret asserts, by name: the Python runtime's checks. */
export const FORMATS: Readonly<Record<string, FormatCheck>> = Object.freeze({
  'date-time': isDateTime,
  date: isDate,
  time: isTime,
  duration: (text: string) => DURATION.test(text),
  email: isEmail,
  hostname: isHostname,
  ipv4: isIpv4,
  ipv6: isIpv6,
  uri: isUri,
  'uri-reference': isUriReference,
  uuid: (text: string) => UUID.test(text),
});

/** Make `ajv` assert leveret's formats with these checks (after ajv-formats, replacing its). */
export function addLeveretFormats(ajv: Ajv): Ajv {
  for (const [name, check] of Object.entries(FORMATS)) ajv.addFormat(name, { type: 'string', validate: check });
  return ajv;
}

// Generated from Python's unicodedata (Unicode 14.0.0) and runtime/leveret/_joining.py: the
// same data the Python checks use. Do not edit by hand (tests/codegen/test_typescript_
// conformance.py and test/formats.test.ts compare the verdicts).
const BIDI_CLASSES = ['L', 'R', 'AL', 'EN', 'ES', 'ET', 'AN', 'CS', 'NSM', 'BN', 'B', 'S', 'WS', 'ON', 'LRE', 'LRO', 'RLE', 'RLO', 'PDF', 'LRI', 'RLI', 'FSI', 'PDI'];
// Runs of one Bidi_Class: '<first code point in hex><class letter: index in BIDI_CLASSES>'.
const BIDI_RUNS =
  '0j,9l,ak,bl,cm,dk,ej,1ck,1fl,20m,21n,23f,26n,2be,2ch,2de,2eh,30d,3ah,3bn,41a,5bn,61a,7bn,7fj,85k' +
  ',86j,a0h,a1n,a2f,a6n,aaa,abn,adj,aen,b0f,b2d,b4n,b5a,b6n,b9d,baa,bbn,c0a,d7n,d8a,f7n,f8a,2b9n,2b' +
  'ba,2c2n,2d0a,2d2n,2e0a,2e5n,2eea,2efn,300i,370a,374n,376a,37en,37fa,384n,386a,387n,388a,3f6n,3f7' +
  'a,483i,48aa,58an,58ba,58dn,58ff,590a,591i,5beb,5bfi,5c0b,5c1i,5c3b,5c4i,5c6b,5c7i,5c8a,5d0b,5eba' +
  ',5efb,5f5a,600g,606n,608c,609f,60bc,60ch,60dc,60en,610i,61bc,64bi,660g,66af,66bg,66dc,670i,671c,' +
  '6d6i,6ddg,6den,6dfi,6e5c,6e7i,6e9n,6eai,6eec,6f0d,6fac,70ea,70fc,711i,712c,730i,74ba,74dc,7a6i,7' +
  'b1c,7b2a,7c0b,7ebi,7f4b,7f6n,7fab,7fba,7fdi,7feb,816i,81ab,81bi,824b,825i,828b,829i,82ea,830b,83' +
  'fa,840b,859i,85ca,85eb,85fa,860c,86ba,870c,88fa,890g,892a,898i,8a0c,8cai,8e2g,8e3i,903a,93ai,93b' +
  'a,93ci,93da,941i,949a,94di,94ea,951i,958a,962i,964a,981i,982a,9bci,9bda,9c1i,9c5a,9cdi,9cea,9e2i' +
  ',9e4a,9f2f,9f4a,9fbf,9fca,9fei,9ffa,a01i,a03a,a3ci,a3da,a41i,a43a,a47i,a49a,a4bi,a4ea,a51i,a52a,' +
  'a70i,a72a,a75i,a76a,a81i,a83a,abci,abda,ac1i,ac6a,ac7i,ac9a,acdi,acea,ae2i,ae4a,af1f,af2a,afai,b' +
  '00a,b01i,b02a,b3ci,b3da,b3fi,b40a,b41i,b45a,b4di,b4ea,b55i,b57a,b62i,b64a,b82i,b83a,bc0i,bc1a,bc' +
  'di,bcea,bf3n,bf9f,bfan,bfba,c00i,c01a,c04i,c05a,c3ci,c3da,c3ei,c41a,c46i,c49a,c4ai,c4ea,c55i,c57' +
  'a,c62i,c64a,c78n,c7fa,c81i,c82a,cbci,cbda,ccci,ccea,ce2i,ce4a,d00i,d02a,d3bi,d3da,d41i,d45a,d4di' +
  ',d4ea,d62i,d64a,d81i,d82a,dcai,dcba,dd2i,dd5a,dd6i,dd7a,e31i,e32a,e34i,e3ba,e3ff,e40a,e47i,e4fa,' +
  'eb1i,eb2a,eb4i,ebda,ec8i,ecea,f18i,f1aa,f35i,f36a,f37i,f38a,f39i,f3an,f3ea,f71i,f7fa,f80i,f85a,f' +
  '86i,f88a,f8di,f98a,f99i,fbda,fc6i,fc7a,102di,1031a,1032i,1038a,1039i,103ba,103di,103fa,1058i,105' +
  'aa,105ei,1061a,1071i,1075a,1082i,1083a,1085i,1087a,108di,108ea,109di,109ea,135di,1360a,1390n,139' +
  'aa,1400n,1401a,1680m,1681a,169bn,169da,1712i,1715a,1732i,1734a,1752i,1754a,1772i,1774a,17b4i,17b' +
  '6a,17b7i,17bea,17c6i,17c7a,17c9i,17d4a,17dbf,17dca,17ddi,17dea,17f0n,17faa,1800n,180bi,180ej,180' +
  'fi,1810a,1885i,1887a,18a9i,18aaa,1920i,1923a,1927i,1929a,1932i,1933a,1939i,193ca,1940n,1941a,194' +
  '4n,1946a,19den,1a00a,1a17i,1a19a,1a1bi,1a1ca,1a56i,1a57a,1a58i,1a5fa,1a60i,1a61a,1a62i,1a63a,1a6' +
  '5i,1a6da,1a73i,1a7da,1a7fi,1a80a,1ab0i,1acfa,1b00i,1b04a,1b34i,1b35a,1b36i,1b3ba,1b3ci,1b3da,1b4' +
  '2i,1b43a,1b6bi,1b74a,1b80i,1b82a,1ba2i,1ba6a,1ba8i,1baaa,1babi,1baea,1be6i,1be7a,1be8i,1beaa,1be' +
  'di,1beea,1befi,1bf2a,1c2ci,1c34a,1c36i,1c38a,1cd0i,1cd3a,1cd4i,1ce1a,1ce2i,1ce9a,1cedi,1ceea,1cf' +
  '4i,1cf5a,1cf8i,1cfaa,1dc0i,1e00a,1fbdn,1fbea,1fbfn,1fc2a,1fcdn,1fd0a,1fddn,1fe0a,1fedn,1ff0a,1ff' +
  'dn,1fffa,2000m,200bj,200ea,200fb,2010n,2028m,2029k,202ao,202bq,202cs,202dp,202er,202fh,2030f,203' +
  '5n,2044h,2045n,205fm,2060j,2065a,2066t,2067u,2068v,2069w,206aj,2070d,2071a,2074d,207ae,207cn,207' +
  'fa,2080d,208ae,208cn,208fa,20a0f,20c1a,20d0i,20f1a,2100n,2102a,2103n,2107a,2108n,210aa,2114n,211' +
  '5a,2116n,2119a,211en,2124a,2125n,2126a,2127n,2128a,2129n,212aa,212ef,212fa,213an,213ca,2140n,214' +
  '5a,214an,214ea,2150n,2160a,2189n,218ca,2190n,2212e,2213f,2214n,2336a,237bn,2395a,2396n,2427a,244' +
  '0n,244ba,2460n,2488d,249ca,24ean,26aca,26adn,2800a,2900n,2b74a,2b76n,2b96a,2b97n,2c00a,2ce5n,2ce' +
  'ba,2cefi,2cf2a,2cf9n,2d00a,2d7fi,2d80a,2de0i,2e00n,2e5ea,2e80n,2e9aa,2e9bn,2ef4a,2f00n,2fd6a,2ff' +
  '0n,2ffca,3000m,3001n,3005a,3008n,3021a,302ai,302ea,3030n,3031a,3036n,3038a,303dn,3040a,3099i,309' +
  'bn,309da,30a0n,30a1a,30fbn,30fca,31c0n,31e4a,321dn,321fa,3250n,3260a,327cn,327fa,32b1n,32c0a,32c' +
  'cn,32d0a,3377n,337ba,33den,33e0a,33ffn,3400a,4dc0n,4e00a,a490n,a4c7a,a60dn,a610a,a66fi,a673n,a67' +
  '4i,a67en,a680a,a69ei,a6a0a,a6f0i,a6f2a,a700n,a722a,a788n,a789a,a802i,a803a,a806i,a807a,a80bi,a80' +
  'ca,a825i,a827a,a828n,a82ci,a82da,a838f,a83aa,a874n,a878a,a8c4i,a8c6a,a8e0i,a8f2a,a8ffi,a900a,a92' +
  '6i,a92ea,a947i,a952a,a980i,a983a,a9b3i,a9b4a,a9b6i,a9baa,a9bci,a9bea,a9e5i,a9e6a,aa29i,aa2fa,aa3' +
  '1i,aa33a,aa35i,aa37a,aa43i,aa44a,aa4ci,aa4da,aa7ci,aa7da,aab0i,aab1a,aab2i,aab5a,aab7i,aab9a,aab' +
  'ei,aac0a,aac1i,aac2a,aaeci,aaeea,aaf6i,aaf7a,ab6an,ab6ca,abe5i,abe6a,abe8i,abe9a,abedi,abeea,fb1' +
  'db,fb1ei,fb1fb,fb29e,fb2ab,fb37a,fb38b,fb3da,fb3eb,fb3fa,fb40b,fb42a,fb43b,fb45a,fb46b,fb50c,fbc' +
  '3a,fbd3c,fd3en,fd50c,fd90a,fd92c,fdc8a,fdcfn,fdd0a,fdf0c,fdfdn,fe00i,fe10n,fe1aa,fe20i,fe30n,fe5' +
  '0h,fe51n,fe52h,fe53a,fe54n,fe55h,fe56n,fe5ff,fe60n,fe62e,fe64n,fe67a,fe68n,fe69f,fe6bn,fe6ca,fe7' +
  '0c,fe75a,fe76c,fefda,feffj,ff00a,ff01n,ff03f,ff06n,ff0be,ff0ch,ff0de,ff0eh,ff10d,ff1ah,ff1bn,ff2' +
  '1a,ff3bn,ff41a,ff5bn,ff66a,ffe0f,ffe2n,ffe5f,ffe7a,ffe8n,ffefa,fff9n,fffea,10101n,10102a,10140n,' +
  '1018da,10190n,1019da,101a0n,101a1a,101fdi,101fea,102e0i,102e1d,102fca,10376i,1037ba,10800b,10806' +
  'a,10808b,10809a,1080ab,10836a,10837b,10839a,1083cb,1083da,1083fb,10856a,10857b,1089fa,108a7b,108' +
  'b0a,108e0b,108f3a,108f4b,108f6a,108fbb,1091ca,1091fn,10920b,1093aa,1093fb,10940a,10980b,109b8a,1' +
  '09bcb,109d0a,109d2b,10a01i,10a04a,10a05i,10a07a,10a0ci,10a10b,10a14a,10a15b,10a18a,10a19b,10a36a' +
  ',10a38i,10a3ba,10a3fi,10a40b,10a49a,10a50b,10a59a,10a60b,10aa0a,10ac0b,10ae5i,10ae7a,10aebb,10af' +
  '7a,10b00b,10b36a,10b39n,10b40b,10b56a,10b58b,10b73a,10b78b,10b92a,10b99b,10b9da,10ba9b,10bb0a,10' +
  'c00b,10c49a,10c80b,10cb3a,10cc0b,10cf3a,10cfab,10d00c,10d24i,10d28a,10d30g,10d3aa,10e60g,10e7fa,' +
  '10e80b,10eaaa,10eabi,10eadb,10eaea,10eb0b,10eb2a,10f00b,10f28a,10f30c,10f46i,10f51c,10f5aa,10f70' +
  'b,10f82i,10f86b,10f8aa,10fb0b,10fcca,10fe0b,10ff7a,11001i,11002a,11038i,11047a,11052n,11066a,110' +
  '70i,11071a,11073i,11075a,1107fi,11082a,110b3i,110b7a,110b9i,110bba,110c2i,110c3a,11100i,11103a,1' +
  '1127i,1112ca,1112di,11135a,11173i,11174a,11180i,11182a,111b6i,111bfa,111c9i,111cda,111cfi,111d0a' +
  ',1122fi,11232a,11234i,11235a,11236i,11238a,1123ei,1123fa,112dfi,112e0a,112e3i,112eba,11300i,1130' +
  '2a,1133bi,1133da,11340i,11341a,11366i,1136da,11370i,11375a,11438i,11440a,11442i,11445a,11446i,11' +
  '447a,1145ei,1145fa,114b3i,114b9a,114bai,114bba,114bfi,114c1a,114c2i,114c4a,115b2i,115b6a,115bci,' +
  '115bea,115bfi,115c1a,115dci,115dea,11633i,1163ba,1163di,1163ea,1163fi,11641a,11660n,1166da,116ab' +
  'i,116aca,116adi,116aea,116b0i,116b6a,116b7i,116b8a,1171di,11720a,11722i,11726a,11727i,1172ca,118' +
  '2fi,11838a,11839i,1183ba,1193bi,1193da,1193ei,1193fa,11943i,11944a,119d4i,119d8a,119dai,119dca,1' +
  '19e0i,119e1a,11a01i,11a07a,11a09i,11a0ba,11a33i,11a39a,11a3bi,11a3fa,11a47i,11a48a,11a51i,11a57a' +
  ',11a59i,11a5ca,11a8ai,11a97a,11a98i,11a9aa,11c30i,11c37a,11c38i,11c3ea,11c92i,11ca8a,11caai,11cb' +
  '1a,11cb2i,11cb4a,11cb5i,11cb7a,11d31i,11d37a,11d3ai,11d3ba,11d3ci,11d3ea,11d3fi,11d46a,11d47i,11' +
  'd48a,11d90i,11d92a,11d95i,11d96a,11d97i,11d98a,11ef3i,11ef5a,11fd5n,11fddf,11fe1n,11ff2a,16af0i,' +
  '16af5a,16b30i,16b37a,16f4fi,16f50a,16f8fi,16f93a,16fe2n,16fe3a,16fe4i,16fe5a,1bc9di,1bc9fa,1bca0' +
  'j,1bca4a,1cf00i,1cf2ea,1cf30i,1cf47a,1d167i,1d16aa,1d173j,1d17bi,1d183a,1d185i,1d18ca,1d1aai,1d1' +
  'aea,1d1e9n,1d1eba,1d200n,1d242i,1d245n,1d246a,1d300n,1d357a,1d6dbn,1d6dca,1d715n,1d716a,1d74fn,1' +
  'd750a,1d789n,1d78aa,1d7c3n,1d7c4a,1d7ced,1d800a,1da00i,1da37a,1da3bi,1da6da,1da75i,1da76a,1da84i' +
  ',1da85a,1da9bi,1daa0a,1daa1i,1dab0a,1e000i,1e007a,1e008i,1e019a,1e01bi,1e022a,1e023i,1e025a,1e02' +
  '6i,1e02ba,1e130i,1e137a,1e2aei,1e2afa,1e2eci,1e2f0a,1e2fff,1e300a,1e800b,1e8c5a,1e8c7b,1e8d0i,1e' +
  '8d7a,1e900b,1e944i,1e94bb,1e94ca,1e950b,1e95aa,1e95eb,1e960a,1ec71c,1ecb5a,1ed01c,1ed3ea,1ee00c,' +
  '1ee04a,1ee05c,1ee20a,1ee21c,1ee23a,1ee24c,1ee25a,1ee27c,1ee28a,1ee29c,1ee33a,1ee34c,1ee38a,1ee39' +
  'c,1ee3aa,1ee3bc,1ee3ca,1ee42c,1ee43a,1ee47c,1ee48a,1ee49c,1ee4aa,1ee4bc,1ee4ca,1ee4dc,1ee50a,1ee' +
  '51c,1ee53a,1ee54c,1ee55a,1ee57c,1ee58a,1ee59c,1ee5aa,1ee5bc,1ee5ca,1ee5dc,1ee5ea,1ee5fc,1ee60a,1' +
  'ee61c,1ee63a,1ee64c,1ee65a,1ee67c,1ee6ba,1ee6cc,1ee73a,1ee74c,1ee78a,1ee79c,1ee7da,1ee7ec,1ee7fa' +
  ',1ee80c,1ee8aa,1ee8bc,1ee9ca,1eea1c,1eea4a,1eea5c,1eeaaa,1eeabc,1eebca,1eef0n,1eef2a,1f000n,1f02' +
  'ca,1f030n,1f094a,1f0a0n,1f0afa,1f0b1n,1f0c0a,1f0c1n,1f0d0a,1f0d1n,1f0f6a,1f100d,1f10bn,1f110a,1f' +
  '12fn,1f130a,1f16an,1f170a,1f1adn,1f1aea,1f260n,1f266a,1f300n,1f6d8a,1f6ddn,1f6eda,1f6f0n,1f6fda,' +
  '1f700n,1f774a,1f780n,1f7d9a,1f7e0n,1f7eca,1f7f0n,1f7f1a,1f800n,1f80ca,1f810n,1f848a,1f850n,1f85a' +
  'a,1f860n,1f888a,1f890n,1f8aea,1f8b0n,1f8b2a,1f900n,1fa54a,1fa60n,1fa6ea,1fa70n,1fa75a,1fa78n,1fa' +
  '7da,1fa80n,1fa87a,1fa90n,1faada,1fab0n,1fabba,1fac0n,1fac6a,1fad0n,1fadaa,1fae0n,1fae8a,1faf0n,1' +
  'faf7a,1fb00n,1fb93a,1fb94n,1fbcba,1fbf0d,1fbfaa,e0001j,e0002a,e0020j,e0080a,e0100i,e01f0a';
// Canonical_Combining_Class=Virama (9).
const VIRAMAS = new Set<number>([0x94d, 0x9cd, 0xa4d, 0xacd, 0xb4d, 0xbcd, 0xc4d, 0xccd, 0xd3b, 0xd3c, 0xd4d, 0xdca, 0xe3a, 0xeba, 0xf84, 0x1039, 0x103a, 0x1714, 0x1715, 0x1734, 0x17d2, 0x1a60, 0x1b44, 0x1baa, 0x1bab, 0x1bf2, 0x1bf3, 0x2d7f, 0xa806, 0xa82c, 0xa8c4, 0xa953, 0xa9c0, 0xaaf6, 0xabed, 0x10a3f, 0x11046, 0x11070, 0x1107f, 0x110b9, 0x11133, 0x11134, 0x111c0, 0x11235, 0x112ea, 0x1134d, 0x11442, 0x114c2, 0x115bf, 0x1163f, 0x116b6, 0x1172b, 0x11839, 0x1193d, 0x1193e, 0x119e0, 0x11a34, 0x11a47, 0x11a99, 0x11c3f, 0x11d44, 0x11d45, 0x11d97]);
// Joining_Type D, L, R, C as [first, last, type].
const JOINING: readonly (readonly [number, number, string])[] = [
  [0x620, 0x620, 'D'], [0x622, 0x625, 'R'], [0x626, 0x626, 'D'], [0x627, 0x627, 'R'],
  [0x628, 0x628, 'D'], [0x629, 0x629, 'R'], [0x62a, 0x62e, 'D'], [0x62f, 0x632, 'R'],
  [0x633, 0x63f, 'D'], [0x640, 0x640, 'C'], [0x641, 0x647, 'D'], [0x648, 0x648, 'R'],
  [0x649, 0x64a, 'D'], [0x66e, 0x66f, 'D'], [0x671, 0x673, 'R'], [0x675, 0x677, 'R'],
  [0x678, 0x687, 'D'], [0x688, 0x699, 'R'], [0x69a, 0x6bf, 'D'], [0x6c0, 0x6c0, 'R'],
  [0x6c1, 0x6c2, 'D'], [0x6c3, 0x6cb, 'R'], [0x6cc, 0x6cc, 'D'], [0x6cd, 0x6cd, 'R'],
  [0x6ce, 0x6ce, 'D'], [0x6cf, 0x6cf, 'R'], [0x6d0, 0x6d1, 'D'], [0x6d2, 0x6d3, 'R'],
  [0x6d5, 0x6d5, 'R'], [0x6ee, 0x6ef, 'R'], [0x6fa, 0x6fc, 'D'], [0x6ff, 0x6ff, 'D'],
  [0x710, 0x710, 'R'], [0x712, 0x714, 'D'], [0x715, 0x719, 'R'], [0x71a, 0x71d, 'D'],
  [0x71e, 0x71e, 'R'], [0x71f, 0x727, 'D'], [0x728, 0x728, 'R'], [0x729, 0x729, 'D'],
  [0x72a, 0x72a, 'R'], [0x72b, 0x72b, 'D'], [0x72c, 0x72c, 'R'], [0x72d, 0x72e, 'D'],
  [0x72f, 0x72f, 'R'], [0x74d, 0x74d, 'R'], [0x74e, 0x758, 'D'], [0x759, 0x75b, 'R'],
  [0x75c, 0x76a, 'D'], [0x76b, 0x76c, 'R'], [0x76d, 0x770, 'D'], [0x771, 0x771, 'R'],
  [0x772, 0x772, 'D'], [0x773, 0x774, 'R'], [0x775, 0x777, 'D'], [0x778, 0x779, 'R'],
  [0x77a, 0x77f, 'D'], [0x7ca, 0x7ea, 'D'], [0x7fa, 0x7fa, 'C'], [0x840, 0x840, 'R'],
  [0x841, 0x845, 'D'], [0x846, 0x847, 'R'], [0x848, 0x848, 'D'], [0x849, 0x849, 'R'],
  [0x84a, 0x853, 'D'], [0x854, 0x854, 'R'], [0x855, 0x855, 'D'], [0x856, 0x858, 'R'],
  [0x860, 0x860, 'D'], [0x862, 0x865, 'D'], [0x867, 0x867, 'R'], [0x868, 0x868, 'D'],
  [0x869, 0x86a, 'R'], [0x870, 0x882, 'R'], [0x883, 0x885, 'C'], [0x886, 0x886, 'D'],
  [0x889, 0x88d, 'D'], [0x88e, 0x88e, 'R'], [0x88f, 0x88f, 'D'], [0x8a0, 0x8a9, 'D'],
  [0x8aa, 0x8ac, 'R'], [0x8ae, 0x8ae, 'R'], [0x8af, 0x8b0, 'D'], [0x8b1, 0x8b2, 'R'],
  [0x8b3, 0x8b8, 'D'], [0x8b9, 0x8b9, 'R'], [0x8ba, 0x8c8, 'D'], [0x1807, 0x1807, 'D'],
  [0x180a, 0x180a, 'C'], [0x1820, 0x1878, 'D'], [0x1887, 0x18a8, 'D'], [0x18aa, 0x18aa, 'D'],
  [0x200d, 0x200d, 'C'], [0xa840, 0xa871, 'D'], [0xa872, 0xa872, 'L'], [0x10ac0, 0x10ac4, 'D'],
  [0x10ac5, 0x10ac5, 'R'], [0x10ac7, 0x10ac7, 'R'], [0x10ac9, 0x10aca, 'R'],
  [0x10acd, 0x10acd, 'L'], [0x10ace, 0x10ad2, 'R'], [0x10ad3, 0x10ad6, 'D'],
  [0x10ad7, 0x10ad7, 'L'], [0x10ad8, 0x10adc, 'D'], [0x10add, 0x10add, 'R'],
  [0x10ade, 0x10ae0, 'D'], [0x10ae1, 0x10ae1, 'R'], [0x10ae4, 0x10ae4, 'R'],
  [0x10aeb, 0x10aee, 'D'], [0x10aef, 0x10aef, 'R'], [0x10b80, 0x10b80, 'D'],
  [0x10b81, 0x10b81, 'R'], [0x10b82, 0x10b82, 'D'], [0x10b83, 0x10b85, 'R'],
  [0x10b86, 0x10b88, 'D'], [0x10b89, 0x10b89, 'R'], [0x10b8a, 0x10b8b, 'D'],
  [0x10b8c, 0x10b8c, 'R'], [0x10b8d, 0x10b8d, 'D'], [0x10b8e, 0x10b8f, 'R'],
  [0x10b90, 0x10b90, 'D'], [0x10b91, 0x10b91, 'R'], [0x10ba9, 0x10bac, 'R'],
  [0x10bad, 0x10bae, 'D'], [0x10d00, 0x10d00, 'L'], [0x10d01, 0x10d21, 'D'],
  [0x10d22, 0x10d22, 'R'], [0x10d23, 0x10d23, 'D'], [0x10ec2, 0x10ec2, 'R'],
  [0x10ec3, 0x10ec4, 'D'], [0x10ec6, 0x10ec7, 'D'], [0x10ed9, 0x10eee, 'L'],
  [0x10f30, 0x10f32, 'D'], [0x10f33, 0x10f33, 'R'], [0x10f34, 0x10f44, 'D'],
  [0x10f51, 0x10f53, 'D'], [0x10f54, 0x10f54, 'R'], [0x10f70, 0x10f73, 'D'],
  [0x10f74, 0x10f75, 'R'], [0x10f76, 0x10f81, 'D'], [0x10fb0, 0x10fb0, 'D'],
  [0x10fb2, 0x10fb3, 'D'], [0x10fb4, 0x10fb6, 'R'], [0x10fb8, 0x10fb8, 'D'],
  [0x10fb9, 0x10fba, 'R'], [0x10fbb, 0x10fbc, 'D'], [0x10fbd, 0x10fbd, 'R'],
  [0x10fbe, 0x10fbf, 'D'], [0x10fc1, 0x10fc1, 'D'], [0x10fc2, 0x10fc3, 'R'],
  [0x10fc4, 0x10fc4, 'D'], [0x10fc9, 0x10fc9, 'R'], [0x10fca, 0x10fca, 'D'],
  [0x10fcb, 0x10fcb, 'L'], [0x1e900, 0x1e943, 'D'],
];
// Mn, Me and Cf code points that are not transparent.
const NOT_TRANSPARENT = new Set<number>([0x600, 0x601, 0x602, 0x603, 0x604, 0x605, 0x6dd, 0x890, 0x891, 0x8e2, 0x180e, 0x200c, 0x2066, 0x2067, 0x2068, 0x2069, 0x110bd, 0x110cd, 0x1171e]);
