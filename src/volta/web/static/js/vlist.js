// A virtualised list: only the rows in view exist in the DOM, so 10,000 rows scroll smoothly.

export class VirtualList {
  constructor(container, { rowHeight = 34, renderRow, onClick }) {
    this.el = container;
    this.el.classList.add("vlist");
    this.rowHeight = rowHeight;
    this.renderRow = renderRow; // (item) => html string of one `.row`
    this.items = [];
    this.inner = document.createElement("div");
    this.rows = document.createElement("div");
    this.rows.className = "rows";
    this.inner.append(this.rows);
    this.el.append(this.inner);
    this.el.addEventListener("scroll", () => this.render());
    if (onClick) this.rows.addEventListener("click", (e) => {
      const row = e.target.closest("[data-i]");
      if (row) onClick(this.items[Number(row.dataset.i)]);
    });
  }

  setItems(items) { this.items = items; this.render(); }

  render() {
    const n = this.items.length, rh = this.rowHeight;
    this.el.dataset.count = String(n); // how many rows the list holds, rendered or not
    this.inner.style.height = `${n * rh}px`;
    const first = Math.max(0, Math.floor(this.el.scrollTop / rh) - 5);
    const last = Math.min(n, Math.ceil((this.el.scrollTop + (this.el.clientHeight || 600)) / rh) + 5);
    this.rows.style.transform = `translateY(${first * rh}px)`;
    let html = "";
    for (let i = first; i < last; i++) html += this.renderRow(this.items[i], i);
    this.rows.innerHTML = html;
  }
}
