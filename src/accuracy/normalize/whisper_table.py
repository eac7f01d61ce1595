"""Whisper's EnglishTextNormalizer on fixed inputs: the expected values of normalize/tests.rs.

usage: python whisper_table.py REF          # rows of WHISPER_TABLE
       python whisper_table.py REF fuzz     # whisper_outputs.json (400 seeded random inputs)
REF holds normalizers/{__init__.py,basic.py,english.py,english.json} from openai-whisper
20250625 (see tests.rs for the setup); needs `regex` and `more-itertools`, not torch.
"""
import sys, json; sys.path.insert(0, sys.argv[1])
from normalizers.english import EnglishTextNormalizer
n = EnglishTextNormalizer()
inputs = [
 "And Mr. John Dashwood had then leisure to consider the fortune of his sisters.",
 "and mister john dashwood had then leisure to consider the fortune of his sisters",
 "Mrs. Dashwood's 25 pounds, Dr. Smith's colour!",
 "missus dashwood is twenty five pounds doctor smith is color",
 "twenty five",
 "one hundred and two",
 "two thousand five hundred and sixty one",
 "nineteen eighty four",
 "one oh one",
 "the twenty first of May",
 "the fifth and the ninth",
 "in the 1960s and the nineteen sixties",
 "two point five percent",
 "fifty per cent",
 "twenty dollars and five cents",
 "$20 million",
 "$0.07",
 "minus twenty degrees",
 "double oh seven",
 "three and a half hours",
 "and a half",
 "1,000,000 people",
 "version 2.0 and 3.14",
 "one",
 "ones and twos",
 "I won't, can't, and didn't go; let's go y'all.",
 "She's been there; he'd gone; it's got to be.",
 "We're gonna wanna get it, ma'am.",
 "Hmm, uh, I think [inaudible] (laughs) um yes <unk>",
 "St. Paul's Cathedral, Capt. Jones, Jr.",
 "The café's naïve façade — Œuvre, straße, Ørsted.",
 "The colour of the neighbour's organisation centre.",
 "He said: \"Hello!\" -- and left...",
 "  lots   of\tspaces\nand lines  ",
 "ten thousand",
 "a hundred",
 "one million two hundred thousand",
 "quarter past 3pm on the 2nd",
 "3rd 4th 21st",
 "nine decillion",
 "zero",
 "point five",
 "it costs £5 or €10.50",
 "100%",
 "",
 "...",
]
mode = sys.argv[2] if len(sys.argv) > 2 else "rust"
if mode == "rust":
    for x in inputs:
        print(f"    ({json.dumps(x, ensure_ascii=False)}, {json.dumps(n(x), ensure_ascii=False)}),")
else:
    import random, string
    random.seed(19)
    toks = ["one","two","three","nine","eleven","twenty","forty","hundred","thousand","million","and","a","half","point","double","triple","oh","zero","o","first","fifth","twentieth","sixes","hundredth","minus","plus","pounds","dollars","cent","cents","per","percent","$","£","€","5","1","0","12","1.5","3.0","007",".",",","'s","mr","st","colour","th","s","the","cat"]
    cases = []
    for i in range(400):
        if i % 4 == 3:
            x = ''.join(random.choice(string.printable) for _ in range(random.randint(0, 30)))
        elif i % 4 == 2:
            x = ''.join(random.choice("aeiouxyzéüßøœ²½ﬁ—“”'.,!$£%0123 ") for _ in range(random.randint(0, 20)))
        else:
            x = ' '.join(random.choice(toks) for _ in range(random.randint(0, 10)))
        cases.append([x, n(x)])
    print(json.dumps(cases, ensure_ascii=False, indent=0))
