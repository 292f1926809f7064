import { missingVariables, renderTemplate, templateVariables } from './campaign-template';

describe('campaign templates', () => {
  it('lists each variable once, spaces inside the braces allowed', () => {
    expect(templateVariables('Hi {{name}}, your code is {{ code }}. Bye {{name}}!')).toEqual(['name', 'code']);
    expect(templateVariables('no variables, {single} braces')).toEqual([]);
  });

  it('renders every occurrence, and never expands a value that looks like a placeholder', () => {
    expect(renderTemplate('Hi {{name}}, {{ name }}: {{code}}', { name: 'Ana', code: '{{name}}' })).toBe('Hi Ana, Ana: {{name}}');
  });

  it('leaves a variable the recipient lacks as written, and reports it as missing', () => {
    expect(renderTemplate('Hi {{name}} {{city}}', { name: 'Ana' })).toBe('Hi Ana {{city}}');
    expect(missingVariables(['name', 'city'], { name: 'Ana', city: '' })).toEqual([]);
    expect(missingVariables(['name', 'city'], { name: 'Ana' })).toEqual(['city']);
  });
});
