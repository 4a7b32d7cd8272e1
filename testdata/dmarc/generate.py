#!/usr/bin/python3
"""Writes the DMARC aggregate report fixtures in this directory.

The reports are ours (example domains and documentation IP ranges), written in the shapes that
large mailbox providers send: Google (a zip as the whole message), Microsoft (gzip after nested
multipart/related text), Yahoo (text/plain and a gzip attachment), Fastmail-style plain XML with
DMARCbis elements, and the RFC 7489 Appendix B.5 example. Compression is done by Python's gzip
and zipfile modules, an implementation independent of the Rust crates under test.

Run with /usr/bin/python3 testdata/dmarc/generate.py; output is deterministic.
"""
import base64
import gzip
import io
import os
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def write(name, data):
    with open(os.path.join(HERE, name), "wb") as f:
        f.write(data)


def b64(data):
    text = base64.b64encode(data).decode()
    return "\r\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def gz(data):
    buf = io.BytesIO()
    # mtime fixed so the output does not change between runs.
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=1700000000) as f:
        f.write(data)
    return buf.getvalue()


def zipped(name, data):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name, date_time=(2023, 12, 28, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        z.writestr(info, data)
    return buf.getvalue()


def crlf(text):
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


GOOGLE_XML = """<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata>
    <org_name>google.com</org_name>
    <email>noreply-dmarc-support@google.com</email>
    <extra_contact_info>https://support.google.com/a/answer/2466580</extra_contact_info>
    <report_id>4312886219372894610</report_id>
    <date_range>
      <begin>1703721600</begin>
      <end>1703807999</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>reject</p>
    <sp>reject</sp>
    <pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.25</source_ip>
      <count>14</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <result>pass</result>
        <selector>2023a</selector>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>2001:db8:4860:4864:20::25</source_ip>
      <count>3</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <result>pass</result>
        <selector>2023a</selector>
      </dkim>
      <spf>
        <domain>lists.example.org</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>203.0.113.66</source_ip>
      <count>1</count>
      <policy_evaluated>
        <disposition>reject</disposition>
        <dkim>fail</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <spf>
        <domain>mail.attacker.example</domain>
        <result>softfail</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"""

MICROSOFT_XML = """<?xml version="1.0"?>
<feedback xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <version>1.0</version>
  <report_metadata>
    <org_name>Outlook.com</org_name>
    <email>dmarcreport@microsoft.com</email>
    <report_id>8b4f9a0e6c6d4d0f9f35cf5a2de1c0a7</report_id>
    <date_range>
      <begin>1703635200</begin>
      <end>1703721600</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>none</sp>
    <pct>50</pct>
    <fo>1</fo>
  </policy_published>
  <record>
    <row>
      <source_ip>2001:db8:a0b:12f0::1</source_ip>
      <count>2</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>outlook.com</envelope_to>
      <envelope_from>example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s1</selector>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <scope>mfrom</scope>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>198.51.100.7</source_ip>
      <count>5</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>fail</dkim>
        <spf>fail</spf>
        <reason>
          <type>sampled_out</type>
        </reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>hotmail.com</envelope_to>
      <envelope_from>bounce.esp.example</envelope_from>
      <header_from>news.example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>esp.example</domain>
        <selector>k1</selector>
        <result>pass</result>
      </dkim>
      <dkim>
        <domain>news.example.com</domain>
        <selector>old</selector>
        <result>fail</result>
      </dkim>
      <spf>
        <domain>bounce.esp.example</domain>
        <scope>mfrom</scope>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"""

YAHOO_XML = """<?xml version="1.0"?>
<feedback>
  <report_metadata>
    <org_name>Yahoo</org_name>
    <email>dmarchelp@yahooinc.com</email>
    <report_id>1703776532.412988</report_id>
    <date_range>
      <begin>1703635200</begin>
      <end>1703721599</end>
    </date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>s</adkim>
    <aspf>r</aspf>
    <p>reject</p>
    <pct>100</pct>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.25</source_ip>
      <count>7</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>s1</selector>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>2001:db8::2:1</source_ip>
      <count>1</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>fail</dkim>
        <spf>pass</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>mail.example.com</domain>
        <selector>s1</selector>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>example.com</domain>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"""

FASTMAIL_XML = """<?xml version="1.0" encoding="UTF-8"?>
<feedback xmlns="urn:ietf:params:xml:ns:dmarc-2.0">
  <version>1.0</version>
  <report_metadata>
    <org_name>Fastmail Pty Ltd</org_name>
    <email>dmarc-reports@messagingengine.example</email>
    <report_id>example.com-1703721600-0a1b2c</report_id>
    <date_range>
      <begin>1703721600</begin>
      <end>1703807999</end>
    </date_range>
    <generator>report generator 2.1</generator>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain>
    <adkim>r</adkim>
    <aspf>r</aspf>
    <p>quarantine</p>
    <sp>quarantine</sp>
    <np>reject</np>
    <pct>100</pct>
    <fo>0</fo>
    <discovery_method>psl</discovery_method>
  </policy_published>
  <record>
    <row>
      <source_ip>2001:db8:c0de::25</source_ip>
      <count>4</count>
      <policy_evaluated>
        <disposition>none</disposition>
        <dkim>pass</dkim>
        <spf>fail</spf>
        <reason>
          <type>local_policy</type>
          <comment>arc=pass as.1.lists.example.org=pass</comment>
        </reason>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_to>fastmail.example</envelope_to>
      <envelope_from>lists.example.org</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <dkim>
        <domain>example.com</domain>
        <selector>fm1</selector>
        <result>pass</result>
        <human_result></human_result>
      </dkim>
      <dkim>
        <domain>lists.example.org</domain>
        <selector>fm2</selector>
        <result>pass</result>
      </dkim>
      <spf>
        <domain>lists.example.org</domain>
        <scope>mfrom</scope>
        <result>pass</result>
      </spf>
    </auth_results>
  </record>
  <record>
    <row>
      <source_ip>192.0.2.99</source_ip>
      <count>2</count>
      <policy_evaluated>
        <disposition>quarantine</disposition>
        <dkim>fail</dkim>
        <spf>fail</spf>
      </policy_evaluated>
    </row>
    <identifiers>
      <envelope_from>example.com</envelope_from>
      <header_from>example.com</header_from>
    </identifiers>
    <auth_results>
      <spf>
        <domain>example.com</domain>
        <scope>mfrom</scope>
        <result>fail</result>
      </spf>
    </auth_results>
  </record>
</feedback>
"""

# RFC 7489 Appendix B.5: a report for example.com from mail.receiver.example.
RFC_XML = """<?xml version="1.0" encoding="UTF-8"?>
<feedback>
  <report_metadata>
    <org_name>mail.receiver.example</org_name>
    <email>dmarc-reporting@mail.receiver.example</email>
    <report_id>2002.02.15.1</report_id>
    <date_range><begin>1013662812</begin><end>1013749130</end></date_range>
  </report_metadata>
  <policy_published>
    <domain>example.com</domain><adkim>r</adkim><aspf>r</aspf>
    <p>none</p><sp>none</sp><pct>100</pct><fo>0</fo>
  </policy_published>
  <record>
    <row>
      <source_ip>192.0.2.1</source_ip><count>2</count>
      <policy_evaluated><disposition>none</disposition><dkim>fail</dkim><spf>pass</spf></policy_evaluated>
    </row>
    <identifiers><envelope_from>example.com</envelope_from><header_from>example.com</header_from></identifiers>
    <auth_results>
      <dkim><domain>example.com</domain><selector>s1</selector><result>fail</result><human_result>body hash mismatch</human_result></dkim>
      <spf><domain>example.com</domain><scope>mfrom</scope><result>pass</result></spf>
    </auth_results>
  </record>
</feedback>
"""


def main():
    # Google: the zip is the whole message.
    name = "google.com!example.com!1703721600!1703807999.zip"
    write("google-zip.eml", crlf(f"""Return-Path: <noreply-dmarc-support@google.com>
Received: from mail-qt1-x849.google.example (mail-qt1-x849.google.example [2001:db8:4860:4864:20::849])
\tby mx.example.com with ESMTPS id 177EBDEB0B
\tfor <dmarc@example.com>; Thu, 28 Dec 2023 14:30:07 +0100
MIME-Version: 1.0
Date: Wed, 27 Dec 2023 15:59:59 -0800
Message-ID: <4312886219372894610@google.com>
Subject: Report domain: example.com Submitter: google.com Report-ID: 4312886219372894610
From: noreply-dmarc-support@google.com
To: dmarc@example.com
Content-Type: application/zip; 
\tname="{name}"
Content-Disposition: attachment; 
\tfilename="{name}"
Content-Transfer-Encoding: base64

""") + b64(zipped("google.com!example.com!1703721600!1703807999.xml", GOOGLE_XML.encode())).encode() + b"\r\n")

    # Microsoft: gzip attachment after a multipart/related with an empty and an HTML part.
    name = "protection.outlook.com!example.com!1703635200!1703721600.xml.gz"
    html = b64(b'<div style = "font-family:Segoe UI; font-size:14px;">This is a DMARC aggregate report from Microsoft Corporation.</ div>')
    write("microsoft-gzip.eml", crlf(f"""Return-Path: <dmarcreport@microsoft.com>
Message-ID: <8b4f9a0e6c6d4d0f9f35cf5a2de1c0a7@microsoft.com>
MIME-Version: 1.0
From: "DMARC Aggregate Report" <dmarcreport@microsoft.com>
To: <dmarc@example.com>
Subject: =?utf-8?B?UmVwb3J0IERvbWFpbjogZXhhbXBsZS5jb20gU3VibWl0dGVyOiBwcm90ZWN0aW9uLm91dGxvb2suY29tIFJlcG9ydC1JRDogOGI0ZjlhMGU2YzZkNGQwZjlmMzVjZjVhMmRlMWMwYTc=?=
Content-Type: multipart/mixed;
\tboundary="_mpm_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_"
Date: Wed, 27 Dec 2023 07:06:34 +0000

This is a multi-part message in MIME format.

--_mpm_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_
Content-Type: multipart/related;
\tboundary="_rv_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_"

--_rv_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_
Content-Type: multipart/alternative;
\tboundary="_av_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_"

--_av_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_


--_av_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_
Content-Type: text/html; charset=us-ascii
Content-Transfer-Encoding: base64

{html}

--_av_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_--

--_rv_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_--

--_mpm_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_
Content-Type: application/gzip
Content-Transfer-Encoding: base64
Content-ID: <0c7d7a3e-1b2f-4c55-9a41-2f0e6b7d8c9a>
Content-Description: {name}
Content-Disposition: attachment; filename="{name}";

""") + b64(gz(MICROSOFT_XML.encode())).encode() + crlf("""

--_mpm_5f1e2d3c4b5a69788796a5b4c3d2e1f0piotk5m200exchangecorpm_--
"""))

    # Yahoo: text/plain part, then the gzip.
    name = "yahoo.com!example.com!1703635200!1703721599.xml.gz"
    write("yahoo-gzip.eml", crlf(f"""Return-Path: <noreply@dmarc.yahoo.com>
MIME-Version: 1.0
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed; boundary="_----------=_1703776532412988"
X-Mailer: MIME::Lite 3.031 (F2.85; T2.17; A2.21; B3.15; Q3.13)
Date: Thu, 28 Dec 2023 07:15:32 -0800
From: noreply@dmarc.yahoo.com
To: dmarc@example.com
Subject: Report Domain: example.com Submitter: Yahoo Inc. Report-ID: <1703776532.412988>
Message-Id: <1703776532.412988@dmarc.yahoo.com>

This is a multi-part message in MIME format.

--_----------=_1703776532412988
Content-Disposition: inline
Content-Length: 38
Content-Transfer-Encoding: binary
Content-Type: text/plain

This is an aggregate report from Yahoo
--_----------=_1703776532412988
Content-Disposition: attachment; filename="{name}"
Content-Transfer-Encoding: base64
Content-Type: application/gzip; name="{name}"

""") + b64(gz(YAHOO_XML.encode())).encode() + crlf("""

--_----------=_1703776532412988--

"""))

    # Fastmail-style: plain XML attachment (DMARCbis namespace and elements).
    name = "fastmail.com!example.com!1703721600!1703807999.xml"
    write("fastmail-xml.eml", crlf(f"""From: DMARC Aggregate Reports <dmarc-reports@messagingengine.example>
To: dmarc@example.com
Subject: Report Domain: example.com Submitter: fastmail.com
 Report-ID: <example.com-1703721600-0a1b2c>
Date: Fri, 29 Dec 2023 01:02:03 +0000
Message-ID: <example.com-1703721600-0a1b2c@messagingengine.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="=_report_0a1b2c"

--=_report_0a1b2c
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 7bit

DMARC aggregate report for example.com, 2023-12-28.

--=_report_0a1b2c
Content-Type: application/xml; name="{name}"
Content-Disposition: attachment; filename="{name}"
Content-Transfer-Encoding: base64

""") + b64(FASTMAIL_XML.encode()).encode() + crlf("""
--=_report_0a1b2c--
"""))

    # RFC 7489 Appendix B.5, with the report gzipped as it says.
    write("rfc7489-appendix-b5.eml", crlf("""DKIM-Signature: v=1; a=rsa-sha256; d=mail.receiver.example; s=x; h=from; bh=x; b=x
From: dmarc-reporting@mail.receiver.example
Date: Fri, Feb 15 2002 16:54:30 -0800
To: dmarc-feedback@example.com
Subject: Report Domain: example.com
    Submitter: mail.receiver.example
    Report-ID: <2002.02.15.1>
MIME-Version: 1.0
Content-Type: multipart/alternative;
    boundary="----=_NextPart_000_024E_01CC9B0A.AFE54C00"
Content-Language: en-us

This is a multipart message in MIME format.

------=_NextPart_000_024E_01CC9B0A.AFE54C00
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

This is an aggregate report from mail.receiver.example.

------=_NextPart_000_024E_01CC9B0A.AFE54C00
Content-Type: application/gzip
Content-Transfer-Encoding: base64
Content-Disposition: attachment;
    filename="mail.receiver.example!example.com!1013662812!1013749130.gz"

""") + b64(gz(RFC_XML.encode())).encode() + crlf("""

------=_NextPart_000_024E_01CC9B0A.AFE54C00--
"""))

    # The report files on their own.
    write("rfc7489-appendix-b5.xml", RFC_XML.encode())
    write("yahoo.com!example.com!1703635200!1703721599.xml.gz", gz(YAHOO_XML.encode()))
    write("google.com!example.com!1703721600!1703807999.zip",
          zipped("google.com!example.com!1703721600!1703807999.xml", GOOGLE_XML.encode()))

    # A message that carries no report.
    write("no-report.eml", crlf("""From: <postmaster@example.com>
To: <dmarc@example.com>
Subject: Report Domain: example.com Submitter: mail.example.com
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="b"

--b
Content-Type: text/plain

No report here.

--b
Content-Type: text/html

<html></html>

--b--
"""))


if __name__ == "__main__":
    main()
