import { ComparePage } from './pages/ComparePage';
import { MatrixPage } from './pages/MatrixPage';
import { ModelsPage } from './pages/ModelsPage';
import { NewRunPage } from './pages/NewRunPage';
import { PromptSetPage } from './pages/PromptSetPage';
import { PromptSetsPage } from './pages/PromptSetsPage';
import { RunPage } from './pages/RunPage';
import { RunsPage } from './pages/RunsPage';
import { useRoute } from './router';

const NAV = [
  ['runs', 'Runs'],
  ['new', 'New run'],
  ['compare', 'Compare'],
  ['models', 'Models'],
  ['prompts', 'Prompt sets'],
] as const;

export function App() {
  const [page, id, view] = useRoute();
  return (
    <div className="shell">
      <header className="top">
        <a className="brand" href="#/runs">
          <span className="logo" /> batchlight
        </a>
        <nav>
          {NAV.map(([key, label]) => (
            <a
              key={key}
              href={`#/${key}`}
              className={page === key || (key === 'runs' && page === 'run') ? 'active' : ''}
            >
              {label}
            </a>
          ))}
        </nav>
      </header>
      <main>
        {page === 'run' && id && view === 'matrix' ? (
          <MatrixPage key={id} runId={id} />
        ) : page === 'run' && id ? (
          <RunPage key={id} runId={id} />
        ) : page === 'new' ? (
          <NewRunPage />
        ) : page === 'compare' ? (
          <ComparePage />
        ) : page === 'models' ? (
          <ModelsPage />
        ) : page === 'prompts' && id ? (
          <PromptSetPage key={id} id={id} />
        ) : page === 'prompts' ? (
          <PromptSetsPage />
        ) : (
          <RunsPage />
        )}
      </main>
    </div>
  );
}
