// Downloads that need the credential (a plain link would carry no Authorization header):
// fetched, then saved under the name the server gives (Content-Disposition).

import { request } from "./api.js";

export async function download(path) {
  const res = await request(path, { raw: true });
  const disposition = res.headers.get("Content-Disposition") ?? "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? "volta-export.csv";
  const url = URL.createObjectURL(await res.blob());
  const a = Object.assign(document.createElement("a"), { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
  return name;
}

// A button that downloads `path()` and says what went wrong if it could not.
export function downloadButton(label, path, title = "") {
  const b = Object.assign(document.createElement("button"), { className: "small", textContent: label, title });
  b.addEventListener("click", async () => {
    b.disabled = true;
    try { await download(path()); b.classList.remove("failed"); b.title = title; } catch (e) { b.classList.add("failed"); b.title = e.message; } finally { b.disabled = false; }
  });
  return b;
}
