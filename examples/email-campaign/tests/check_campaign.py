#!/usr/bin/env python3
"""Checks email-campaign's output with Python's own email, csv and html parsers.

usage: check_campaign.py EMAIL_CAMPAIGN_BINARY DATA_DIR WORK_DIR
"""
import csv
import datetime
import email
import email.policy
import hashlib
import hmac
import html.parser
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.parse

BIN, DATA, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
ENDPOINT = "https://px.example.com"
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
    return cond


def run(name, *args, expect=0):
    out = os.path.join(WORK, name)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [BIN, "--out", out, *args]
    p = subprocess.run(cmd, capture_output=True, timeout=300)
    stderr = p.stderr.decode("utf-8", "replace")
    check(p.returncode == expect, f"{name}: exit {p.returncode}, expected {expect}\n{stderr}")
    return out, stderr


def manifest(out):
    with open(os.path.join(out, "manifest.csv"), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def recipients(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f, skipinitialspace=False))
    header = [h.strip() for h in rows[0]]
    return [dict(zip(header, (v.strip(" \t") for v in r))) for r in rows[1:] if r]


def html_escape(s):
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def no_controls(s):
    return re.sub(r"[\x00-\x1f\x7f]+", " ", s)


class Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.imgs, self.scripts = [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.imgs.append(dict(attrs))
        elif tag == "script":
            self.scripts += 1


def pixels(doc):
    t = Tags()
    t.feed(doc)
    t.close()
    return [i for i in t.imgs if "/1x1.png?" in (i.get("src") or "")], t.scripts


def check_raw_lines(name, raw):
    check(b"\n" not in raw.replace(b"\r\n", b""), f"{name}: bare LF in the message")
    check(b"\r" not in raw.replace(b"\r\n", b""), f"{name}: bare CR in the message")
    for line in raw.split(b"\r\n"):
        check(len(line) <= 998, f"{name}: line over 998 bytes")
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        if b"=?UTF-8?" in line:
            check(len(line) <= 76, f"{name}: header line with encoded-words over 76: {line!r}")


def parse_message(path, campaign, expect_userid, row, name_of, subject, thirdparty="example.com",
                  endpoint=ENDPOINT):
    raw = open(path, "rb").read()
    tag = os.path.basename(path)
    check_raw_lines(tag, raw)
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    for h in ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version"):
        check(msg[h] is not None, f"{tag}: no {h} header")
    check(msg.get_content_type() == "multipart/alternative", f"{tag}: not multipart/alternative")
    parts = list(msg.iter_parts())
    types = [p.get_content_type() for p in parts]
    check(types == ["text/plain", "text/html"], f"{tag}: parts {types}")
    # get_content() keeps the CRLF of quoted-printable hard breaks; compare texts with LF.
    text = parts[0].get_content().replace("\r\n", "\n")
    doc = parts[1].get_content().replace("\r\n", "\n")
    to = msg["To"].addresses
    check(len(to) == 1, f"{tag}: {len(to)} addresses in To")
    # BytesParser keeps 8-bit header bytes as surrogates; RFC 6532 says they are UTF-8.
    addr = to[0].addr_spec.encode("utf-8", "surrogateescape").decode("utf-8")
    check(addr == row["email"], f"{tag}: To {to[0].addr_spec!r} != {row['email']!r}")
    want_name = no_controls(name_of(row))
    # Python 3.11 keeps the folding space between adjacent encoded-words in a phrase (RFC
    # 2047 6.2 drops it), so long names are compared without whitespace.
    got_name = to[0].display_name
    if len(want_name.encode()) > 45 and any(ord(c) > 127 for c in want_name):
        got_name, want_name = re.sub(r"\s", "", got_name), re.sub(r"\s", "", want_name)
    check(got_name == want_name,
          f"{tag}: display name {to[0].display_name!r} != {want_name!r}")
    check(str(msg["Subject"]) == no_controls(subject(row)),
          f"{tag}: subject {str(msg['Subject'])!r} != {no_controls(subject(row))!r}")
    found, _ = pixels(doc)
    if check(len(found) == 1, f"{tag}: {len(found)} pixels"):
        src = found[0]["src"]
        check(found[0].get("width") == "1" and found[0].get("height") == "1", f"{tag}: pixel size")
        q = urllib.parse.urlsplit(src)
        check(q.scheme + "://" + q.netloc == endpoint and q.path == "/1x1.png", f"{tag}: {src}")
        params = urllib.parse.parse_qsl(q.query, keep_blank_values=True)
        keys = [k for k, _ in params]
        check(keys == ["userid", "thirdpartyname", "campaign", "channel", "eid"], f"{tag}: keys {keys}")
        p = dict(params)
        check(p.get("userid") == expect_userid, f"{tag}: userid {p.get('userid')!r} != {expect_userid!r}")
        check(p.get("thirdpartyname") == thirdparty, f"{tag}: thirdpartyname {p.get('thirdpartyname')}")
        check(p.get("campaign") == campaign, f"{tag}: campaign {p.get('campaign')!r}")
        check(p.get("channel") == "email", f"{tag}: channel")
        eid = p.get("eid", "")
        check(re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", eid) is not None, f"{tag}: eid {eid!r}")
        check(msg["Message-ID"].strip("<>").split("@")[0] == eid, f"{tag}: Message-ID is not the eid")
        return msg, text, doc, src, eid
    return msg, text, doc, None, None


def case_hostile():
    csv_path = os.path.join(DATA, "hostile.csv")
    out, err = run("hostile", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                   csv_path, "--campaign", "digest/42 & more", "--endpoint", ENDPOINT)
    rows = recipients(csv_path)
    man = manifest(out)
    check(len(man) == len(rows), f"hostile: {len(man)} messages for {len(rows)} rows")
    urls, eids = set(), set()
    template = open(os.path.join(DATA, "outlook.html"), encoding="utf-8").read()
    _, template_scripts = pixels(template)
    for row, entry in zip(rows, man):
        msg, text, doc, src, eid = parse_message(
            os.path.join(out, entry["file"]), "digest/42 & more", row["email"].lower(), row,
            lambda r: r["name"], lambda r: "Weekly digest")
        urls.add(src)
        eids.add(eid)
        tag = entry["file"]
        # The pixel sits right after the real <BODY> (not the one in the Outlook comment).
        body_tag = "<BODY class=\"web\" data-note=\"a > b\" style='font-family: \"Segoe UI\", Arial;'>"
        if check(body_tag in doc, f"{tag}: BODY lost"):
            check(doc[doc.index(body_tag) + len(body_tag):].startswith("<img src="),
                  f"{tag}: pixel not right after BODY")
        check(doc.count("/1x1.png?") == 1, f"{tag}: pixel URL count")
        _, scripts = pixels(doc)
        check(scripts == template_scripts, f"{tag}: {scripts} <script> elements (template has {template_scripts})")
        for col in ("first_name", "last_name", "code"):
            v = row[col]
            if v == "{{pixel}}":
                check(html_escape(v) in doc, f"{tag}: merge value {{{{pixel}}}} not literal")
                continue
            check(html_escape(v.replace("\r\n", "\n")) in doc, f"{tag}: escaped {col} {v!r} missing from HTML")
            if "<" in v:
                check(v not in doc, f"{tag}: raw {col} {v!r} in HTML")
            check(v.replace("\r\n", "\n") in text, f"{tag}: raw {col} {v!r} missing from text/plain")
        check("Outlook only, " + html_escape(row["first_name"]) in doc, f"{tag}: merge in conditional comment")
    check(len(urls) == len(man) and None not in urls, "hostile: pixel URLs not unique")
    check(len(eids) == len(man), "hostile: event ids not unique")
    # The same campaign in base64 decodes to the same parts.
    out64, _ = run("hostile-b64", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                   csv_path, "--campaign", "c", "--endpoint", ENDPOINT, "--encoding", "base64",
                   "--seed", "7", "--now-ms", "1718787248530")
    outqp, _ = run("hostile-qp", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                   csv_path, "--campaign", "c", "--endpoint", ENDPOINT,
                   "--seed", "7", "--now-ms", "1718787248530")
    for entry in manifest(outqp):
        a = email.message_from_bytes(open(os.path.join(outqp, entry["file"]), "rb").read(), policy=email.policy.default)
        b = email.message_from_bytes(open(os.path.join(out64, entry["file"]), "rb").read(), policy=email.policy.default)
        check([p.get_content().replace("\r\n", "\n") for p in a.iter_parts()] ==
              [p.get_content().replace("\r\n", "\n") for p in b.iter_parts()],
              f"{entry['file']}: base64 and quoted-printable parts differ")
        check(b["Content-Type"] is not None and "base64" in str(list(b.iter_parts())[1]["Content-Transfer-Encoding"]),
              f"{entry['file']}: not base64")


def case_malformed():
    out, err = run("malformed", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                   os.path.join(DATA, "malformed.csv"), "--campaign", "m", "--endpoint", ENDPOINT,
                   expect=1)
    for line in (3, 4, 6, 10, 12):
        check(re.search(rf"malformed\.csv: line {line}\b", err) is not None,
              f"malformed: line {line} not reported:\n{err}")
    check(len(re.findall(r"malformed\.csv: line \d+", err)) == 5, f"malformed: extra reports:\n{err}")
    check("5 malformed rows skipped" in err, f"malformed: summary missing:\n{err}")
    man = manifest(out)
    check([m["email"] for m in man] == ["good1@example.com", "good2@example.com", "good3@example.com",
                                        "good4@example.com"], f"malformed: messages for {[m['email'] for m in man]}")
    text = list(email.message_from_bytes(open(os.path.join(out, man[2]["file"]), "rb").read(),
                                         policy=email.policy.default).iter_parts())[0].get_content()
    text = text.replace("\r\n", "\n")
    check("Six\nspans two lines" in text, "malformed: quoted newline lost")


def case_hash_and_options():
    csv_path = os.path.join(DATA, "hostile.csv")
    key = "s3cret key"
    out, _ = run("hashed", "--template", os.path.join(DATA, "outlook.html"), "--recipients", csv_path,
                 "--campaign", "h", "--endpoint", ENDPOINT, "--hash-ids", key,
                 "--from", "Ünï Sender <news@mail.example.org>", "--thirdpartyname", "partner",
                 "--subject", "Hello {{first_name}}, code {{code}}",
                 "--text-template", os.path.join(DATA, "plain.txt"))
    rows = recipients(csv_path)
    for row, entry in zip(rows, manifest(out)):
        want = hmac.new(key.encode(), row["email"].lower().encode(), hashlib.sha256).hexdigest()
        msg, text, doc, src, eid = parse_message(
            os.path.join(out, entry["file"]), "h", want, row, lambda r: r["name"],
            lambda r: f"Hello {r['first_name']}, code {r['code']}", thirdparty="partner")
        check(msg["From"].addresses[0].display_name == "Ünï Sender", "hashed: From display name")
        check(msg["From"].addresses[0].addr_spec == "news@mail.example.org", "hashed: From address")
        want_text = f"Plain text for {row['first_name']} ({row['email']}).".replace("\r\n", "\n")
        check(want_text in text.replace("\r\n", "\n"), f"{entry['file']}: text template not used: {text!r}")
        check("{{" not in text, f"{entry['file']}: unrendered field in text")


def case_html_format():
    out, _ = run("htmlfmt", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                 os.path.join(DATA, "hostile.csv"), "--campaign", "x", "--endpoint", ENDPOINT,
                 "--format", "html")
    man = manifest(out)
    srcs = set()
    for entry in man:
        check(entry["file"].endswith(".html"), f"htmlfmt: {entry['file']}")
        doc = open(os.path.join(out, entry["file"]), encoding="utf-8").read()
        found, _ = pixels(doc)
        check(len(found) == 1, f"htmlfmt {entry['file']}: {len(found)} pixels")
        if found:
            srcs.add(found[0]["src"])
            check(found[0]["src"] == entry["url"], f"htmlfmt {entry['file']}: manifest URL differs")
    check(len(srcs) == len(man), "htmlfmt: URLs not unique")


def case_no_body():
    out, err = run("nobody", "--template", os.path.join(DATA, "fragment.html"), "--recipients",
                   os.path.join(DATA, "hostile.csv"), "--campaign", "f", "--endpoint", ENDPOINT,
                   "--subject", "S")
    check("neither <body> nor {{pixel}}" in err, f"nobody: no warning:\n{err}")
    for entry in manifest(out):
        msg = email.message_from_bytes(open(os.path.join(out, entry["file"]), "rb").read(),
                                       policy=email.policy.default)
        doc = list(msg.iter_parts())[1].get_content()
        found, _ = pixels(doc)
        check(len(found) == 1 and doc.rstrip().endswith(">"), f"nobody {entry['file']}: pixel")


def case_placeholder():
    out, err = run("placeholder", "--template", os.path.join(DATA, "placeholder.html"),
                   "--recipients", os.path.join(DATA, "hostile.csv"), "--campaign", "p",
                   "--endpoint", ENDPOINT)
    for entry in manifest(out):
        msg = email.message_from_bytes(open(os.path.join(out, entry["file"]), "rb").read(),
                                       policy=email.policy.default)
        doc = list(msg.iter_parts())[1].get_content()
        found, _ = pixels(doc)
        check(len(found) == 1, f"placeholder {entry['file']}: {len(found)} pixels")
        check(doc.index("<img src=") > doc.index("<p>Top</p>") and doc.index("<img src=") < doc.index("<p>Bottom"),
              f"placeholder {entry['file']}: pixel not at {{{{ pixel }}}}")
        check("{{" not in list(msg.iter_parts())[0].get_content(), "placeholder: text keeps {{pixel}}")


def case_golden():
    # The golden files the C++ test compares byte for byte are valid messages too.
    golden = os.path.join(DATA, "..", "golden")
    rows = recipients(os.path.join(DATA, "..", "..", "templates", "recipients.csv"))
    man = manifest(golden)
    check(len(man) == len(rows) == 7, "golden: 7 messages")
    for row, entry in zip(rows, man):
        parse_message(os.path.join(golden, entry["file"]), "spring-2024",
                      row["userid"] or row["email"].lower(), row,
                      lambda r: f"{r['first_name']} {r['last_name']}",
                      lambda r: f"Spring news for {r['first_name']} \U0001F338",
                      endpoint="https://d111111abcdef8.cloudfront.net")


def case_dry_run():
    out, err = run("dryrun", "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                   os.path.join(DATA, "hostile.csv"), "--campaign", "d", "--endpoint", ENDPOINT,
                   "--dry-run")
    check(sorted(os.listdir(out)) == ["manifest.csv"], f"dry-run wrote {os.listdir(out)}")
    check(len(manifest(out)) == len(recipients(os.path.join(DATA, "hostile.csv"))), "dry-run manifest")
    check("not written (--dry-run)" in err, f"dry-run summary:\n{err}")


def case_manifest_jsonl():
    """manifest.jsonl: exactly campaign, eid, recipient, sent, mode per message, in manifest.csv's
    order; sent from --sent-at (ISO 8601 with an offset, or epoch seconds), else the clock."""
    csv_path = os.path.join(DATA, "hostile.csv")
    before = datetime.datetime.now(datetime.timezone.utc).timestamp()
    for name, sent_at, want in (("sent-iso", "2024-06-19T10:54:08.25+02:00", 1718787248.25),
                                ("sent-epoch", "1718787248", 1718787248),
                                ("sent-clock", None, None)):
        extra = ["--sent-at", sent_at] if sent_at else []
        out, _ = run(name, "--template", os.path.join(DATA, "outlook.html"), "--recipients",
                     csv_path, "--campaign", "m \"q\" é", "--endpoint", ENDPOINT, *extra)
        after = datetime.datetime.now(datetime.timezone.utc).timestamp()
        rows = manifest(out)
        with open(os.path.join(out, "manifest.jsonl"), encoding="utf-8") as f:
            lines = [json.loads(line) for line in f]
        check(len(lines) == len(rows) > 0, f"{name}: {len(lines)} lines, {len(rows)} messages")
        for row, line in zip(rows, lines):
            check(list(line) == ["campaign", "eid", "recipient", "sent", "mode"], f"{name}: keys {list(line)}")
            check(line["mode"] == row["mode"] == "identified", f"{name}: mode {line['mode']}")
            check(line["campaign"] == 'm "q" é', f"{name}: campaign {line['campaign']!r}")
            check(line["eid"] == row["eid"], f"{name}: eid {line['eid']} != {row['eid']}")
            check(line["recipient"] == row["userid"], f"{name}: recipient {line['recipient']!r}")
            if want is not None:
                check(line["sent"] == want, f"{name}: sent {line['sent']} != {want}")
            else:
                check(before - 1 <= line["sent"] <= after + 1, f"{name}: sent {line['sent']} not now")
    run("sent-bad", "--template", os.path.join(DATA, "outlook.html"), "--recipients", csv_path,
        "--campaign", "m", "--endpoint", ENDPOINT, "--sent-at", "yesterday", expect=2)


os.makedirs(WORK, exist_ok=True)
for case in (case_golden, case_dry_run, case_hostile, case_malformed, case_hash_and_options, case_html_format, case_no_body,
             case_placeholder, case_manifest_jsonl):
    case()
if failures:
    for f in failures[:50]:
        print("FAIL:", f)
    print(f"{len(failures)} failures")
    sys.exit(1)
print("all checks passed")
