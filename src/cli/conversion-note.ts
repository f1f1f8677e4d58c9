/** What the CLI says about photos converted to a model's 1, 2 or 4 input channels: one note line per kind of conversion. */

/** Collects each photo's conversion (Classifier.photoConversion) and gives one stderr line per distinct one. */
export class ConversionNotes {
  private readonly files = new Map<string, string[]>();

  add(file: string, conversion: string | undefined): void {
    if (!conversion) return;
    const list = this.files.get(conversion) ?? [];
    list.push(file);
    this.files.set(conversion, list);
  }

  /** 'note: cat.png: photo converted to ...', or 'note: 12 photos converted to ...' when several share it. */
  lines(): string[] {
    return [...this.files].map(([text, files]) => `note: ${files.length === 1 ? `${files[0]}: photo` : `${files.length} photos`} ${text}`);
  }
}
