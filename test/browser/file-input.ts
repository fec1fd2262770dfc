/**
 * Choosing files in a file input as a person does, for the card tests: the input's FileList set through a real
 * DataTransfer, then the change event the card listens for.
 */
export function choose(input: HTMLInputElement, files: File[]): void {
  const dt = new DataTransfer();
  for (const f of files) dt.items.add(f);
  input.files = dt.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
}
