// HTML sanitizer and HTML-to-text (src/channels/email/html*.cpp).
#include "channels/email/html.hpp"

#include <glib.h>
#include <gtest/gtest.h>

#include <string>

using namespace banxway::email;

namespace {
bool valid_utf8(const std::string& s) {
  return g_utf8_validate_len(s.data(), static_cast<gssize>(s.size()), nullptr);
}
}  // namespace

TEST(HtmlSanitize, DropsDangerousElementsWithTheirContent) {
  const std::string in =
      "<html><head><title>T</title><meta http-equiv=refresh content=\"0;url=http://x\">"
      "<link rel=stylesheet href=http://x/s.css><base href=http://evil/><style>p{}</style></head>"
      "<body><p>keep</p><script>alert(1)</script><iframe src=http://x>if</iframe>"
      "<object data=x>obj</object><embed src=x><form action=http://x><input name=a>"
      "<button>b</button></form><svg><script>alert(2)</script><text>svg</text></svg>"
      "<math><mi>m</mi></math><noscript>ns</noscript><template>tp</template>"
      "<p>end</p></body></html>";
  EXPECT_EQ(sanitize_html(in), "<p>keep</p><p>end</p>");
}

TEST(HtmlSanitize, DropsEventHandlersStyleAndBadUrls) {
  EXPECT_EQ(sanitize_html("<p onclick=\"x()\" onmouseover=y style=\"background:url(http://t)\" "
                          "class=c id=i title=\"t&quot;x\">a</p>"),
            "<p title=\"t&quot;x\">a</p>");
  for (const char* bad :
       {"javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)",
        " javascript:alert(1)", "&#106;avascript:alert(1)", "data:text/html,<script>x</script>",
        "vbscript:msgbox", "/relative", "ftp://files.example"}) {
    EXPECT_EQ(sanitize_html(std::string("<a href=\"") + bad + "\">x</a>"), "<a>x</a>") << bad;
  }
  EXPECT_EQ(sanitize_html("<a href=\"https://tracking.example/?a=1&amp;b=2\" target=_blank>t</a>"),
            "<a href=\"https://tracking.example/?a=1&amp;b=2\" rel=\"noopener noreferrer\">t</a>");
  EXPECT_EQ(sanitize_html("<a href=\"mailto:ops@forwarder.example\">m</a>"),
            "<a href=\"mailto:ops@forwarder.example\" rel=\"noopener noreferrer\">m</a>");
}

TEST(HtmlSanitize, KeepsAllowListAndValidatesAttributeValues) {
  EXPECT_EQ(sanitize_html("<table width=\"100%\" border=1 bgcolor=red><tr>"
                          "<td colspan=2 rowspan=x align=CENTER valign=top height=20>c</td>"
                          "</tr></table>"),
            "<table width=\"100%\"><tbody><tr><td colspan=\"2\" align=\"center\" valign=\"top\" "
            "height=\"20\">c</td></tr></tbody></table>");
  EXPECT_EQ(sanitize_html("<font face=Arial color=red size=3>f</font><center>c</center>"
                          "<h1>h</h1><ul><li>1</li></ul><pre>p  re</pre><hr><br>"),
            "<font>f</font><center>c</center><h1>h</h1><ul><li>1</li></ul><pre>p  re</pre>"
            "<hr><br>");
  // Unknown or non-listed elements are unwrapped; block containers become div.
  EXPECT_EQ(sanitize_html("<section><custom-tag>text</custom-tag></section><abbr>x</abbr>"),
            "<div>text</div>x");
}

TEST(HtmlSanitize, ImagesCidRewrittenRemoteBlockedUnlessAllowed) {
  HtmlOptions o;
  o.cid_url_prefix = "/api/v1/attachments/by-cid/M/";
  HtmlRender r = render_html(
      "<img src=\"cid:part1.06090408@x.example\" alt=a><img src=\"CID:%3Cimg%20two%3E\">"
      "<img src=\"https://cdn.example/a.png\" width=10><img src=\"http://cdn.example/b.png\">"
      "<img src=\"data:image/png;base64,AAAA\"><img src=\"cid:\">",
      o, false);
  EXPECT_EQ(r.html,
            "<img src=\"/api/v1/attachments/by-cid/M/part1.06090408@x.example\" alt=\"a\">"
            "<img src=\"/api/v1/attachments/by-cid/M/img%20two\">"
            "<img width=\"10\"><img><img><img>");
  EXPECT_EQ(r.cids, (std::vector<std::string>{"part1.06090408@x.example", "img two"}));

  o.allow_remote_images = true;
  EXPECT_EQ(
      sanitize_html("<img src=\"https://cdn.example/a.png\"><img src=\"http://cdn.example/b\">", o),
      "<img src=\"https://cdn.example/a.png\"><img>");
}

TEST(HtmlSanitize, OutputIsEscapedAndWellFormed) {
  EXPECT_EQ(sanitize_html("<!-- secret --><p>a &lt; b &amp;&amp; c &gt; d \"q\"</p>"),
            "<p>a &lt; b &amp;&amp; c &gt; d \"q\"</p>");
  // Broken markup is repaired by the parser: every element closed, nothing dangling.
  EXPECT_EQ(sanitize_html("<p><b>bold<i>both</p>rest"),
            "<p><b>bold<i>both</i></b></p><b><i>rest</i></b>");
  EXPECT_EQ(sanitize_html("<a title='x\" onmouseover=\"y'>t</a>"),
            "<a title=\"x&quot; onmouseover=&quot;y\">t</a>");
  const std::string bad = sanitize_html("<p>\xff\xfe broken \xc3</p>");
  EXPECT_TRUE(valid_utf8(bad));
}

TEST(HtmlToText, BlocksListsLinksAndQuotes) {
  const std::string text = html_to_text(
      "<html><head><title>Title</title><style>.x{}</style></head><body>"
      "<h1>Arrival notice</h1><p>Vessel <b>MSC Anna</b>&nbsp;arrives.<br>ETA 12 May.</p>"
      "<ul><li>Container one</li><li>Container two<ol><li>sub</li></ol></li></ul>"
      "<ol><li>first</li><li>second</li></ol>"
      "<p><a href=\"https://track.example/c/1\">Track it</a> or "
      "<a href=\"mailto:ops@x.example\">ops@x.example</a> or "
      "<a href=\"https://www.x.example/\">www.x.example</a></p>"
      "<div style=\"display: none\">hidden preheader</div><span hidden>also hidden</span>"
      "<script>var x;</script>"
      "<table><tr><td>POL</td><td>Hamburg</td></tr><tr><td>POD</td><td>Shanghai</td></tr></table>"
      "<blockquote><p>quoted line</p><blockquote>deeper</blockquote></blockquote>"
      "<pre>  keep\n    spacing</pre>"
      "</body></html>");
  EXPECT_EQ(text,
            "Arrival notice\n"
            "\n"
            "Vessel MSC Anna arrives.\n"
            "ETA 12 May.\n"
            "\n"
            "- Container one\n"
            "- Container two\n"
            "  1. sub\n"
            "1. first\n"
            "2. second\n"
            "\n"
            "Track it <https://track.example/c/1> or ops@x.example or www.x.example\n"
            "\n"
            "POL\tHamburg\n"
            "POD\tShanghai\n"
            "\n"
            "> quoted line\n"
            ">\n"
            "> > deeper\n"
            "  keep\n"
            "    spacing");
}

TEST(HtmlToText, EntitiesAndInvalidBytes) {
  EXPECT_EQ(html_to_text("<p>Caf&eacute; &euro;5 &lt;tag&gt; &#x4E16;</p>"), "Café €5 <tag> 世");
  EXPECT_TRUE(valid_utf8(html_to_text(std::string("<p>a\0b\xff</p>", 9))));
  EXPECT_EQ(html_to_text(""), "");
}

TEST(HtmlHostile, DeepNestingFinishesAndIsFlattened) {
  for (const char* tag : {"div", "b", "span", "blockquote", "table", "font", "a", "li"}) {
    std::string html;
    const int n = 30000;
    for (int i = 0; i < n; ++i) html += std::string("<") + tag + ">";
    html += "core";
    for (int i = 0; i < n; ++i) html += std::string("</") + tag + ">";
    HtmlRender r = render_html(html, HtmlOptions{}, true);
    EXPECT_NE(r.text.find("core"), std::string::npos) << tag;
    EXPECT_NE(r.html.find("core"), std::string::npos) << tag;
  }
  std::string divs;
  for (int i = 0; i < 100000; ++i) divs += "<div>";
  HtmlRender r = render_html(divs + "x", HtmlOptions{}, false);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings[0].find("HTML nesting deeper than 256 flattened"), std::string::npos);
}

TEST(HtmlHostile, DistinctTagNamesAndAttributeFloods) {
  std::string html;
  for (int i = 0; i < 50000; ++i) html += "<x" + std::to_string(i) + ">";
  html += "core";
  HtmlRender r = render_html(html, HtmlOptions{}, true);
  EXPECT_EQ(r.text, "core");

  std::string tag = "<p";
  for (int i = 0; i < 200000; ++i) tag += " a" + std::to_string(i) + "=1";
  HtmlRender a = render_html(tag + ">text</p><p title=ok>kept</p>", HtmlOptions{}, true);
  EXPECT_EQ(a.html, "text<p></p><p title=\"ok\">kept</p>");  // a stray </p> makes a <p>
  ASSERT_FALSE(a.warnings.empty());
  EXPECT_NE(a.warnings[0].find("more than 256 attributes dropped"), std::string::npos);
}

TEST(HtmlHostile, FormattingReconstructionBombHitsTheBudget) {
  // Open formatting elements are re-created for every later paragraph: unbounded, this input
  // builds hundreds of millions of nodes.
  std::string html = "<p>";
  for (int i = 0; i < 250; ++i) html += "<b id=" + std::to_string(i) + ">";
  for (int i = 0; i < 100000; ++i) html += "</p><p>x";
  HtmlRender r = render_html(html, HtmlOptions{}, true);
  ASSERT_FALSE(r.warnings.empty());
  EXPECT_NE(r.warnings.back().find("HTML too complex to parse"), std::string::npos);
  EXPECT_TRUE(r.html.empty());
  EXPECT_EQ(r.text.substr(0, 3), "xxx");
}

TEST(HtmlHostile, UnterminatedConstructs) {
  for (const char* in : {"<div title=\"never closed", "<!-- never closed", "<script>never",
                         "<a href=", "<", "<<<<>>>>", "</div></div></p>", "<p/><br/><img/>"}) {
    HtmlRender r = render_html(in, HtmlOptions{}, true);
    EXPECT_TRUE(valid_utf8(r.html) && valid_utf8(r.text)) << in;
  }
}
