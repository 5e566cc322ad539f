// The report page: one self-contained HTML file (inline CSS, inline SVG, a small
// inline script) next to report.json with the same data. The script only adds
// convenience — legend entries hide/show a series, a list picks one of several
// figures — and records any script error on the page itself (the headless
// browser test reads that back).
#include <fmt/format.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "winq/error.hpp"
#include "winq/file.hpp"
#include "winq/report.hpp"

namespace winq::report {

namespace {

const char* kStyle = R"(
body{font-family:"DejaVu Sans",Arial,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3a5f;color:#fff;padding:18px 32px}
header h1{margin:0;font-size:24px}header p{margin:6px 0 0;opacity:.85}
main{max-width:1100px;margin:0 auto;padding:8px 32px 40px}
nav{margin:16px 0;padding:10px 16px;background:#fff;border:1px solid #ddd;border-radius:6px}
nav a{margin-right:16px;color:#1f3a5f;text-decoration:none}
section{background:#fff;border:1px solid #ddd;border-radius:6px;padding:4px 20px 16px;margin:18px 0}
h2{color:#1f3a5f;font-size:19px}
figure{margin:12px 0;overflow-x:auto}figcaption{color:#555;font-size:13px;margin-top:4px;max-width:900px}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 10px;text-align:left}
th{background:#f0f3f7}td.n{text-align:right;font-variant-numeric:tabular-nums}
.legend.off{opacity:.35}.series.off{display:none}
select{font-size:13px;margin:6px 0}
#errors{display:none;background:#fdd;color:#900;padding:8px 32px}
)";

// Errors are recorded before anything else runs; the rest wires the controls.
const char* kHeadScript = R"(
window.winqErrors=[];
window.addEventListener('error',function(e){window.winqErrors.push(String(e.message));
 document.documentElement.setAttribute('data-errors',window.winqErrors.join(' | '));});
)";

const char* kBodyScript = R"(
(function(){
 document.querySelectorAll('figure svg').forEach(function(svg){
  svg.querySelectorAll('.legend').forEach(function(g){
   g.addEventListener('click',function(){
    var k=g.getAttribute('data-series'),off=!g.classList.contains('off');
    g.classList.toggle('off',off);
    svg.querySelectorAll('.series[data-series="'+k+'"]').forEach(function(s){s.classList.toggle('off',off);});
   });
  });
 });
 document.querySelectorAll('select.choice').forEach(function(sel){
  var show=function(){
   document.querySelectorAll('[data-choice="'+sel.id+'"]').forEach(function(d){
    d.style.display=d.getAttribute('data-name')===sel.value?'':'none';});
  };
  sel.addEventListener('change',show);show();
 });
 if(window.winqErrors.length){var e=document.getElementById('errors');
  e.textContent='script errors: '+window.winqErrors.join(' | ');e.style.display='block';}
 document.documentElement.setAttribute('data-ready','1');
})();
)";

bool numeric_cell(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!(std::isdigit(c) || c == '.' || c == '-' || c == '+' || c == '%' || c == ',' || c == 'e')) {
      // allow a trailing unit such as "×"
      if (c < 0x80) return false;
    }
  return std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-' || s[0] == '+';
}

std::string anchor(size_t i) { return fmt::format("s{}", i); }

std::string now_utc() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
  return buf;
}

}  // namespace

Report::Report(std::string title, std::string subtitle) : title_(std::move(title)), subtitle_(std::move(subtitle)) {
  data_["figures"] = nlohmann::json::object();
  data_["tables"] = nlohmann::json::object();
  data_["data"] = nlohmann::json::object();
}

void Report::claim(const std::string& key) {
  for (const char* part : {"figures", "tables", "data"})
    if (data_[part].contains(key)) throw Error("report: two items named '" + key + "'");
}

void Report::section(const std::string& heading, const std::string& intro) {
  const std::string a = anchor(toc_.size());
  toc_.push_back({a, heading});
  std::string s = fmt::format("<section id=\"{}\"><h2>{}</h2>\n", a, escape(heading));
  if (!intro.empty()) s += "<p>" + escape(intro) + "</p>\n";
  body_.push_back(std::move(s));
}

void Report::paragraph(const std::string& text) { body_.push_back("<p>" + escape(text) + "</p>\n"); }

void Report::add_figure(const std::string& key, std::string svg, nlohmann::json data, const std::string& caption) {
  claim(key);
  data["caption"] = caption;
  data_["figures"][key] = std::move(data);
  body_.push_back(fmt::format("<figure id=\"fig-{}\">\n{}<figcaption>{}</figcaption></figure>\n", escape(key), svg,
                              escape(caption)));
}

void Report::add_choice(const std::string& key, std::vector<Choice> c, const std::string& caption, size_t shown) {
  claim(key);
  nlohmann::json all = nlohmann::json::object();
  const std::string id = "choice-" + key;
  std::string s = fmt::format("<figure id=\"fig-{}\">\n<label>{} <select class=\"choice\" id=\"{}\">", escape(key),
                              "show:", escape(id));
  for (size_t i = 0; i < c.size(); ++i)
    s += fmt::format("<option value=\"{0}\"{1}>{0}</option>", escape(c[i].name), i == shown ? " selected" : "");
  s += "</select></label>\n";
  for (size_t i = 0; i < c.size(); ++i) {
    // Without the script every figure stays visible; with it, one at a time.
    s += fmt::format("<div data-choice=\"{}\" data-name=\"{}\">{}</div>\n", escape(id), escape(c[i].name), c[i].svg);
    all[c[i].name] = std::move(c[i].data);
  }
  s += "<figcaption>" + escape(caption) + "</figcaption></figure>\n";
  data_["figures"][key] = {{"caption", caption}, {"choices", std::move(all)}};
  body_.push_back(std::move(s));
}

void Report::table(const std::string& key, const std::vector<std::string>& header,
                   const std::vector<std::vector<std::string>>& rows) {
  claim(key);
  std::string s = "<table><tr>";
  for (const auto& h : header) s += "<th>" + escape(h) + "</th>";
  s += "</tr>\n";
  for (const auto& r : rows) {
    s += "<tr>";
    for (const auto& c : r) s += (numeric_cell(c) ? "<td class=\"n\">" : "<td>") + escape(c) + "</td>";
    s += "</tr>\n";
  }
  body_.push_back(s + "</table>\n");
  data_["tables"][key] = {{"header", header}, {"rows", rows}};
}

void Report::data(const std::string& key, nlohmann::json value) {
  claim(key);
  data_["data"][key] = std::move(value);
}

std::string Report::html() const {
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" + escape(title_) +
                  "</title>\n<style>" + kStyle + "</style>\n<script>" + kHeadScript + "</script>\n</head><body>\n";
  s += "<header><h1>" + escape(title_) + "</h1><p>" + escape(subtitle_) + "</p></header>\n";
  s += "<div id=\"errors\"></div>\n<main>\n";
  if (toc_.size() > 1) {
    s += "<nav>";
    for (const auto& [a, h] : toc_) s += fmt::format("<a href=\"#{}\">{}</a>", a, escape(h));
    s += "</nav>\n";
  }
  bool open = false;
  for (const std::string& b : body_) {
    if (b.rfind("<section", 0) == 0) {
      if (open) s += "</section>\n";
      open = true;
    }
    s += b;
  }
  if (open) s += "</section>\n";
  s += "<p style=\"color:#888;font-size:12px\">Written by winq; the same data is in report.json. "
       "Click a legend entry to hide or show its series; hover a mark for its value.</p>\n";
  s += "</main>\n<script>" + std::string(kBodyScript) + "</script>\n</body></html>\n";
  return s;
}

nlohmann::json Report::json() const {
  nlohmann::json j = data_;
  j["title"] = title_;
  j["subtitle"] = subtitle_;
  j["written"] = now_utc();
  return j;
}

void Report::write(const std::string& dir) const {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw Error(fmt::format("{}: cannot create the report directory ({})", dir, ec.message()));
  write_file_atomic((std::filesystem::path(dir) / "report.json").string(), json().dump(1) + "\n");
  write_file_atomic((std::filesystem::path(dir) / "report.html").string(), html());
}

}  // namespace winq::report
