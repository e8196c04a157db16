import assert from "node:assert/strict";
import {
  CODE_ENTROPY_BITS,
  CodeError,
  customCodeBits,
  generateCode,
  isGeneratedForm,
  normalizeCode,
} from "../lib/secure/code.ts";
import { WORDS } from "../lib/secure/wordlist.ts";

/**
 * Groups of common English homophones (with American and British accents): at
 * most one word of each group may be in the list. The list itself was checked
 * with espeak-ng pronunciations when it was made; this keeps known pairs out.
 */
const HOMOPHONES = `
  ant/aunt ate/eight ball/bawl bare/bear base/bass be/bee beach/beech
  beat/beet bean/been berry/bury blew/blue boar/bore board/bored bold/bowled
  bolder/boulder bough/bow brake/break bread/bred bridal/bridle buy/by/bye
  cache/cash carat/carrot cede/seed cell/sell cellar/seller cent/scent
  cereal/serial cheap/cheep chili/chilly chord/cord cite/sight/site
  clause/claws coarse/course colonel/kernel creak/creek cymbal/symbol
  days/daze dear/deer dew/due die/dye doe/dough ewe/yew/you fair/fare
  fairy/ferry feat/feet fir/fur flair/flare flea/flee flew/flu flour/flower
  for/four fort/fought gait/gate grate/great groan/grown hail/hale hair/hare
  hall/haul heal/heel hear/here heard/herd hi/high him/hymn hoarse/horse
  hole/whole hour/our idle/idol in/inn key/quay knead/need knew/new
  knight/night knit/nit knot/not know/no knows/nose lain/lane larva/lava
  lead/led leak/leek lessen/lesson links/lynx loan/lone made/maid mail/male
  main/mane maize/maze mare/mayor meat/meet medal/meddle/metal mettle/metal
  mind/mined missed/mist moose/mousse morning/mourning muscle/mussel
  naval/navel oar/or/ore one/won pail/pale pain/pane pair/pare/pear
  passed/past pause/paws pawn/porn peace/piece peak/peek/pique pedal/peddle
  pedal/petal pi/pie plain/plane plum/plumb pole/poll pore/pour pray/prey
  prince/prints principal/principle profit/prophet quarts/quartz rain/reign
  rap/wrap raw/roar read/reed real/reel right/rite/write ring/wring road/rode
  role/roll root/route rose/rows sail/sale sauce/source scene/seen seam/seem
  sew/so/sow shoe/shoo soar/sore sole/soul some/sum son/sun stair/stare
  stake/steak stalk/stork steal/steel suite/sweet tacks/tax tail/tale
  team/teem tea/tee tern/turn threw/through throne/thrown tide/tied
  toad/towed toe/tow vain/vane/vein wade/weighed wail/whale waist/waste
  wait/weight war/wore ware/wear warn/worn way/weigh weak/week which/witch
  whine/wine wood/would yoke/yolk
`.trim().split(/\s+/).map((group) => group.split("/"));

const CODE_PATTERN = /^\d{1,4}(-[a-z]{3,7}){3}$/;

Deno.test("the word list has 1024 distinct words of 3 to 7 letters a-z", () => {
  assert.equal(WORDS.length, 1024);
  assert.equal(new Set(WORDS).size, 1024);
  for (const word of WORDS) assert.match(word, /^[a-z]{3,7}$/);
  assert.ok(Object.isFrozen(WORDS));
});

Deno.test("no word in the list is a prefix or a plural of another", () => {
  const set = new Set(WORDS);
  for (const word of WORDS) {
    for (let end = 3; end < word.length; end++) {
      assert.ok(
        !set.has(word.slice(0, end)),
        `"${word.slice(0, end)}" is a prefix of "${word}"`,
      );
    }
    for (const plural of [`${word}s`, `${word}es`]) {
      assert.ok(!set.has(plural), `"${word}" and "${plural}" are both listed`);
    }
    if (word.endsWith("s")) {
      assert.ok(!set.has(word.slice(0, -1)), `"${word}" is a plural`);
    }
  }
});

Deno.test("the word list has at most one word of each homophone group", () => {
  const set = new Set(WORDS);
  for (const group of HOMOPHONES) {
    const listed = group.filter((word) => set.has(word));
    assert.ok(listed.length <= 1, `homophones listed: ${listed.join(", ")}`);
  }
});

Deno.test("generated codes have the right shape and normalize to themselves", () => {
  for (let i = 0; i < 500; i++) {
    const code = generateCode();
    assert.match(code, CODE_PATTERN);
    assert.match(code, /^(0|[1-9][0-9]*)-/, "no leading zeros");
    assert.ok(isGeneratedForm(code));
    assert.equal(normalizeCode(code), code);
    assert.equal(normalizeCode(` ${code.toUpperCase()} `), code);
    assert.equal(normalizeCode(code.replaceAll("-", "  ")), code);
    for (const word of code.split("-").slice(1)) {
      assert.ok(WORDS.includes(word));
    }
  }
});

Deno.test("every list word is accepted in a code", () => {
  for (const word of WORDS) {
    assert.equal(
      normalizeCode(`9999 ${word} ${word.toUpperCase()} ${word}`),
      `9999-${word}-${word}-${word}`,
    );
  }
});

Deno.test("generated codes vary in every part", () => {
  const codes = Array.from({ length: 2000 }, () => generateCode());
  assert.ok(new Set(codes).size >= 1990, "codes repeat too often");
  const parts = codes.map((code) => code.split("-"));
  const numbers = parts.map((part) => Number(part[0]));
  // 2000 uniform draws from 10000 numbers give about 1800 distinct ones, and
  // from 1024 words about 880.
  assert.ok(new Set(numbers).size > 1500, "too few distinct numbers");
  assert.ok(Math.min(...numbers) < 1000 && Math.max(...numbers) > 9000);
  for (let position = 1; position <= 3; position++) {
    const words = new Set(parts.map((part) => part[position]));
    assert.ok(words.size > 700, `too few distinct words at ${position}`);
  }
});

Deno.test("normalizeCode puts generated-looking codes in canonical form", () => {
  assert.equal(
    normalizeCode("  4071 Apple  river-STONE "),
    "4071-apple-river-stone",
  );
  assert.equal(
    normalizeCode("4071--apple - river\tstone-"),
    "4071-apple-river-stone",
  );
  assert.equal(normalizeCode("0071-apple-river-stone"), "71-apple-river-stone");
  assert.equal(normalizeCode("0 apple river stone"), "0-apple-river-stone");
});

Deno.test("normalizeCode suggests the list word one typo away", () => {
  assert.throws(
    () => normalizeCode("4071-aple-river-stone"),
    (error: unknown) => {
      assert.ok(error instanceof CodeError);
      assert.equal(error.name, "CodeError");
      assert.equal(
        error.message,
        'Unknown word "aple" in code: did you mean "apple"?',
      );
      return true;
    },
  );
  assert.throws(
    () => normalizeCode("4071 apple rvier stone"),
    { message: 'Unknown word "rvier" in code: did you mean "river"?' },
  );
  assert.throws(
    () => normalizeCode("4071 apple river stoone"),
    { message: 'Unknown word "stoone" in code: did you mean "stone"?' },
  );
  assert.throws(
    () => normalizeCode("4071-apple-river-xylophone"),
    { name: "CodeError", message: 'Unknown word "xylophone" in code' },
  );
});

Deno.test("normalizeCode rejects a wrong shape or a number out of range", () => {
  const shape = "Code must look like 4071-apple-river-stone";
  assert.throws(() => normalizeCode("4071-apple-river"), {
    name: "CodeError",
    message: shape,
  });
  assert.throws(() => normalizeCode("4071 apple river stone moon"), {
    message: shape,
  });
  assert.throws(() => normalizeCode("12345-apple-river-stone"), {
    name: "CodeError",
    message: 'Number "12345" in code is out of range: use 0 to 9999',
  });
  assert.throws(
    () => normalizeCode(`${"9".repeat(400)}-apple-river-stone`),
    /^CodeError: Number "9{80}…" in code is out of range/,
  );
});

Deno.test("custom codes are trimmed and must have 6 characters", () => {
  assert.equal(normalizeCode("  My Secret Phrase "), "My Secret Phrase");
  assert.equal(
    normalizeCode("apple-river-stone-4071"),
    "apple-river-stone-4071",
  );
  for (const short of ["", "   ", "abc", " abcde ", "4071", "ééééé"]) {
    assert.throws(() => normalizeCode(short), {
      name: "CodeError",
      message: "Code is too short: use at least 6 characters",
    });
  }
  assert.equal(normalizeCode("éàüøçñßæ"), "éàüøçñßæ");
});

Deno.test("custom codes weaker than a generated one are refused", () => {
  for (
    const [weak, bits] of [
      ["123456", 3],
      ["hunter", 28],
      ["password1", 41],
      ["éééééé", 6],
      ["abcdefghijklmnopqrstuvwxyz", 4],
      ["1357913579135791", 16],
      ["passpasspasspass", 14],
    ] as const
  ) {
    assert.throws(() => normalizeCode(weak), {
      name: "CodeError",
      message:
        `Code is too weak (about ${bits} bits; a generated code has 43): use a longer one, or leave it out and the server makes one up`,
    }, weak);
  }
  // The suite's own codes are strong enough.
  for (
    const strong of [
      "test-code-for-the-suite",
      "not-the-right-code",
      "wrong-guess-0",
      "tls-but-wrong-code",
      "correct horse battery staple",
    ]
  ) {
    assert.equal(normalizeCode(strong), strong);
    assert.ok(customCodeBits(strong) >= CODE_ENTROPY_BITS, strong);
  }
});

Deno.test("a custom code's strength: length counted times log2 of its classes", () => {
  // 8 lowercase letters, none next to another in the alphabet: 8 * log2(26).
  assert.equal(customCodeBits("qzmxkwjv"), 8 * Math.log2(26));
  // Lowercase, uppercase, digits and punctuation: 95 characters.
  assert.equal(customCodeBits("aZ3!"), 4 * Math.log2(95));
  assert.equal(customCodeBits("日本語"), 3 * Math.log2(100));
  // Repeats and neighbours count once; a repeated code counts once.
  assert.equal(customCodeBits("aaaa"), Math.log2(26));
  assert.equal(customCodeBits("9876"), Math.log2(10));
  assert.equal(customCodeBits("kq-kq-kq-k"), 3 * Math.log2(59));
  assert.equal(customCodeBits(""), 0);
});

Deno.test("isGeneratedForm needs digits then a space or dash", () => {
  assert.ok(isGeneratedForm("4071-apple-river-stone"));
  assert.ok(isGeneratedForm(" 12 x"));
  assert.ok(isGeneratedForm("12345-"));
  assert.ok(!isGeneratedForm("4071"));
  assert.ok(!isGeneratedForm("4071apple"));
  assert.ok(!isGeneratedForm("apple-river-stone-4071"));
  assert.ok(!isGeneratedForm(""));
});

Deno.test("a code carries at least 40 bits", () => {
  assert.ok(CODE_ENTROPY_BITS >= 40);
  assert.ok(Math.abs(CODE_ENTROPY_BITS - 43.29) < 0.01);
});
