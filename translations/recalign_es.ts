<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="es_ES">
<context>
    <name>RunStatus</name>
    <message>
        <source>queued</source>
        <translation>en cola</translation>
    </message>
    <message>
        <source>running</source>
        <translation>en ejecución</translation>
    </message>
    <message>
        <source>finished</source>
        <translation>terminada</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>fallida</translation>
    </message>
    <message>
        <source>cancelled</source>
        <translation>cancelada</translation>
    </message>
    <message>
        <source>run %1</source>
        <translation>ejecución %1</translation>
    </message>
</context>
<context>
    <name>RunsTableData</name>
    <message>
        <source>group %1</source>
        <translation>grupo %1</translation>
    </message>
</context>
<context>
    <name>recalign::studio::ComparePage</name>
    <message>
        <source>I0 · sequential</source>
        <translation>I0 · secuencial</translation>
    </message>
    <message>
        <source>I1 · category control</source>
        <translation>I1 · control de categoría</translation>
    </message>
    <message>
        <source>I2 · proportion control</source>
        <translation>I2 · control de proporción</translation>
    </message>
    <message>
        <source>Formatting</source>
        <translation>Formato</translation>
    </message>
    <message>
        <source>Export all…</source>
        <translation>Exportar todo…</translation>
    </message>
    <message>
        <source>Write the four tables to one CSV, LaTeX or Markdown file</source>
        <translation>Escribe las cuatro tablas en un único archivo CSV, LaTeX o Markdown</translation>
    </message>
    <message>
        <source>No evaluation results yet. Select finished runs in the Runs panel; each evaluated variant becomes a row.</source>
        <translation>Aún no hay resultados de evaluación. Seleccione ejecuciones terminadas en el panel Ejecuciones; cada variante evaluada se convierte en una fila.</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Comparar</translation>
    </message>
    <message>
        <source>Export tables</source>
        <translation>Exportar tablas</translation>
    </message>
    <message>
        <source>LaTeX (*.tex);;CSV (*.csv);;Markdown (*.md)</source>
        <translation>LaTeX (*.tex);;CSV (*.csv);;Markdown (*.md)</translation>
    </message>
    <message>
        <source>Could not write %1 (use a .tex, .csv or .md name).</source>
        <translation>No se pudo escribir %1 (use un nombre .tex, .csv o .md).</translation>
    </message>
</context>
<context>
    <name>recalign::studio::ConfigurePage</name>
    <message>
        <source>New</source>
        <translation>Nuevo</translation>
    </message>
    <message>
        <source>A new experiment with every field at its default</source>
        <translation>Un experimento nuevo con todos los campos en su valor por defecto</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Abrir</translation>
    </message>
    <message>
        <source>Open an experiment file (the arrow lists the project&apos;s experiments)</source>
        <translation>Abre un archivo de experimento (la flecha lista los experimentos del proyecto)</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>Guardar</translation>
    </message>
    <message>
        <source>Save as…</source>
        <translation>Guardar como…</translation>
    </message>
    <message>
        <source>Validate</source>
        <translation>Validar</translation>
    </message>
    <message>
        <source>Check the experiment as a run would (missing files are errors)</source>
        <translation>Comprueba el experimento como lo haría una ejecución (los archivos que faltan son errores)</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Ejecutar</translation>
    </message>
    <message>
        <source>Save, validate and queue the experiment in the workspace</source>
        <translation>Guarda, valida y pone en cola el experimento en el espacio de trabajo</translation>
    </message>
    <message>
        <source>Variants:</source>
        <translation>Variantes:</translation>
    </message>
    <message>
        <source>The SASRec teacher itself</source>
        <translation>El propio maestro SASRec</translation>
    </message>
    <message>
        <source>Most-popular items (floor baseline)</source>
        <translation>Ítems más populares (línea base mínima)</translation>
    </message>
    <message>
        <source>The base LLM prompted without fine-tuning</source>
        <translation>El LLM base consultado sin ajuste fino</translation>
    </message>
    <message>
        <source>SFT on the users&apos; real next items (PALR)</source>
        <translation>SFT con los siguientes ítems reales de los usuarios (PALR)</translation>
    </message>
    <message>
        <source>SFT on I0 only</source>
        <translation>SFT solo con I0</translation>
    </message>
    <message>
        <source>SFT on I0–I4</source>
        <translation>SFT con I0–I4</translation>
    </message>
    <message>
        <source>v2 + PPO with the list-level reward only</source>
        <translation>v2 + PPO solo con la recompensa de lista</translation>
    </message>
    <message>
        <source>v2 + PPO with item- and list-level rewards</source>
        <translation>v2 + PPO con recompensas por ítem y de lista</translation>
    </message>
    <message>
        <source>Form</source>
        <translation>Formulario</translation>
    </message>
    <message>
        <source>YAML</source>
        <translation>YAML</translation>
    </message>
    <message>
        <source>Opened %1</source>
        <translation>Abierto %1</translation>
    </message>
    <message>
        <source>No problems found</source>
        <translation>No se encontraron problemas</translation>
    </message>
    <message>
        <source>Problems: %1 error(s), %2 warning(s)</source>
        <translation>Problemas: %1 error(es), %2 aviso(s)</translation>
    </message>
    <message>
        <source>The experiment is valid.</source>
        <translation>El experimento es válido.</translation>
    </message>
    <message>
        <source>The experiment has problems; see the list below.</source>
        <translation>El experimento tiene problemas; vea la lista de abajo.</translation>
    </message>
    <message>
        <source>Save experiment</source>
        <translation>Guardar experimento</translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation>Guardado %1</translation>
    </message>
    <message>
        <source>Experiment files (*.yaml *.yml)</source>
        <translation>Archivos de experimento (*.yaml *.yml)</translation>
    </message>
    <message>
        <source>Unsaved experiment</source>
        <translation>Experimento sin guardar</translation>
    </message>
    <message>
        <source>The experiment has unsaved changes. Save them?</source>
        <translation>El experimento tiene cambios sin guardar. ¿Guardarlos?</translation>
    </message>
    <message>
        <source>Untitled experiment</source>
        <translation>Experimento sin título</translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation>Cambios sin guardar</translation>
    </message>
    <message>
        <source>Project experiments</source>
        <translation>Experimentos del proyecto</translation>
    </message>
    <message>
        <source>Recent</source>
        <translation>Recientes</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>Examinar…</translation>
    </message>
    <message>
        <source>Open experiment</source>
        <translation>Abrir experimento</translation>
    </message>
    <message>
        <source>Experiment files (*.yaml *.yml);;All files (*)</source>
        <translation>Archivos de experimento (*.yaml *.yml);;Todos los archivos (*)</translation>
    </message>
</context>
<context>
    <name>recalign::studio::ExperimentDocument</name>
    <message>
        <source>Cannot read %1: %2</source>
        <translation>No se puede leer %1: %2</translation>
    </message>
    <message>
        <source>The experiment has no file name yet.</source>
        <translation>El experimento aún no tiene nombre de archivo.</translation>
    </message>
    <message>
        <source>Cannot write %1: %2</source>
        <translation>No se puede escribir %1: %2</translation>
    </message>
</context>
<context>
    <name>recalign::studio::InspectPage</name>
    <message>
        <source>Select evaluated runs in the Runs panel to inspect their generated lists.</source>
        <translation>Seleccione ejecuciones evaluadas en el panel Ejecuciones para inspeccionar sus listas generadas.</translation>
    </message>
</context>
<context>
    <name>recalign::studio::MainWindow</name>
    <message>
        <source>RecAlign Studio</source>
        <translation>RecAlign Studio</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Archivo</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Salir</translation>
    </message>
    <message>
        <source>Device: CPU</source>
        <translation>Dispositivo: CPU</translation>
    </message>
    <message>
        <source>BLAS: %1</source>
        <translation>BLAS: %1</translation>
    </message>
    <message>
        <source>About RecAlign Studio</source>
        <translation>Acerca de RecAlign Studio</translation>
    </message>
    <message>
        <source>&lt;h3&gt;RecAlign Studio %1&lt;/h3&gt;&lt;p&gt;Reproduces &lt;i&gt;Aligning Large Language Models for Controllable Recommendations&lt;/i&gt; (Lu et al., ACL 2024): a SASRec teacher, instruction tasks, LoRA SFT and PPO, evaluation and this workbench.&lt;/p&gt;&lt;p&gt;torch %2 · SQLite %3 · commit %4&lt;/p&gt;</source>
        <translation>&lt;h3&gt;RecAlign Studio %1&lt;/h3&gt;&lt;p&gt;Reproduce &lt;i&gt;Aligning Large Language Models for Controllable Recommendations&lt;/i&gt; (Lu et al., ACL 2024): un maestro SASRec, tareas de instrucciones, SFT con LoRA y PPO, evaluación y este banco de trabajo.&lt;/p&gt;&lt;p&gt;torch %2 · SQLite %3 · commit %4&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Device: CUDA (%1)</source>
        <translation>Dispositivo: CUDA (%1)</translation>
    </message>
    <message>
        <source>Threads: %1</source>
        <translation>Hilos: %1</translation>
    </message>
    <message>
        <source>Run experiment</source>
        <translation>Ejecutar experimento</translation>
    </message>
    <message>
        <source>Started %1</source>
        <translation>Iniciada %1</translation>
    </message>
    <message>
        <source>RecAlign Studio — %1</source>
        <translation>RecAlign Studio — %1</translation>
    </message>
    <message numerus="yes">
        <source>%n run(s) were interrupted (their process ended while running) and are marked failed; resume them from the Runs panel.</source>
        <translation>
            <numerusform>%n ejecución se interrumpió (su proceso terminó mientras se ejecutaba) y se marcó como fallida; reanúdela desde el panel Ejecuciones.</numerusform>
            <numerusform>%n ejecuciones se interrumpieron (su proceso terminó mientras se ejecutaban) y se marcaron como fallidas; reanúdelas desde el panel Ejecuciones.</numerusform>
        </translation>
    </message>
    <message>
        <source>Configure</source>
        <translation>Configurar</translation>
    </message>
    <message>
        <source>Monitor</source>
        <translation>Monitor</translation>
    </message>
    <message>
        <source>Compare</source>
        <translation>Comparar</translation>
    </message>
    <message>
        <source>Inspect</source>
        <translation>Inspeccionar</translation>
    </message>
    <message>
        <source>Probe</source>
        <translation>Sonda</translation>
    </message>
    <message>
        <source>&amp;Run</source>
        <translation>&amp;Ejecutar</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>&amp;Ver</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>A&amp;yuda</translation>
    </message>
    <message>
        <source>Main toolbar</source>
        <translation>Barra de herramientas principal</translation>
    </message>
    <message>
        <source>&amp;New experiment</source>
        <translation>&amp;Nuevo experimento</translation>
    </message>
    <message>
        <source>&amp;Open experiment…</source>
        <translation>&amp;Abrir experimento…</translation>
    </message>
    <message>
        <source>&amp;Save experiment</source>
        <translation>&amp;Guardar experimento</translation>
    </message>
    <message>
        <source>Save experiment &amp;as…</source>
        <translation>Guardar experimento &amp;como…</translation>
    </message>
    <message>
        <source>Open &amp;workspace…</source>
        <translation>Abrir espacio de &amp;trabajo…</translation>
    </message>
    <message>
        <source>Se&amp;ttings…</source>
        <translation>Aj&amp;ustes…</translation>
    </message>
    <message>
        <source>&amp;Run experiment</source>
        <translation>&amp;Ejecutar experimento</translation>
    </message>
    <message>
        <source>Save, validate and queue the experiment (Ctrl+R)</source>
        <translation>Guarda, valida y pone en cola el experimento (Ctrl+R)</translation>
    </message>
    <message>
        <source>&amp;Validate experiment</source>
        <translation>&amp;Validar experimento</translation>
    </message>
    <message>
        <source>&amp;Cancel run</source>
        <translation>&amp;Cancelar ejecución</translation>
    </message>
    <message>
        <source>Stop the running job at its next step (Ctrl+.)</source>
        <translation>Detiene el trabajo en curso en su siguiente paso (Ctrl+.)</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>Act&amp;ualizar</translation>
    </message>
    <message>
        <source>&amp;About RecAlign Studio</source>
        <translation>Acerca &amp;de RecAlign Studio</translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation>Acerca de &amp;Qt</translation>
    </message>
    <message>
        <source>Open workspace</source>
        <translation>Abrir espacio de trabajo</translation>
    </message>
    <message>
        <source>#%1 %2</source>
        <translation>#%1 %2</translation>
    </message>
    <message>
        <source>#%1</source>
        <translation>#%1</translation>
    </message>
    <message>
        <source>Samples of %1</source>
        <translation>Muestras de %1</translation>
    </message>
    <message>
        <source>%1 · %2 %3/%4</source>
        <translation>%1 · %2 %3/%4</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message numerus="yes">
        <source> (+%n queued)</source>
        <translation>
            <numerusform> (+%n en cola)</numerusform>
            <numerusform> (+%n en cola)</numerusform>
        </translation>
    </message>
    <message>
        <source>Run %1 finished.</source>
        <translation>La ejecución %1 terminó.</translation>
    </message>
    <message>
        <source>Run %1 cancelled: %2</source>
        <translation>Ejecución %1 cancelada: %2</translation>
    </message>
    <message>
        <source>Run %1 ended: %2</source>
        <translation>La ejecución %1 terminó: %2</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>Salir</translation>
    </message>
    <message>
        <source>A run is in progress. Cancel it and quit? The run can be resumed later from the Runs panel.</source>
        <translation>Hay una ejecución en curso. ¿Cancelarla y salir? La ejecución se puede reanudar más tarde desde el panel Ejecuciones.</translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>Ejecuciones</translation>
    </message>
</context>
<context>
    <name>recalign::studio::MonitorController</name>
    <message>
        <source>Training loss</source>
        <translation>Pérdida de entrenamiento</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>Tasa de aprendizaje</translation>
    </message>
    <message>
        <source>Gradient norm</source>
        <translation>Norma del gradiente</translation>
    </message>
    <message>
        <source>Throughput (tokens/s)</source>
        <translation>Rendimiento (tokens/s)</translation>
    </message>
    <message>
        <source>Reward (total)</source>
        <translation>Recompensa (total)</translation>
    </message>
    <message>
        <source>Item reward</source>
        <translation>Recompensa por ítem</translation>
    </message>
    <message>
        <source>List reward</source>
        <translation>Recompensa de lista</translation>
    </message>
    <message>
        <source>KL divergence</source>
        <translation>Divergencia KL</translation>
    </message>
    <message>
        <source>KL coefficient β</source>
        <translation>Coeficiente KL β</translation>
    </message>
    <message>
        <source>Clip fraction</source>
        <translation>Fracción recortada</translation>
    </message>
    <message>
        <source>Approximate KL (policy)</source>
        <translation>KL aproximada (política)</translation>
    </message>
    <message>
        <source>Entropy</source>
        <translation>Entropía</translation>
    </message>
    <message>
        <source>Value loss</source>
        <translation>Pérdida de valor</translation>
    </message>
    <message>
        <source>Explained variance</source>
        <translation>Varianza explicada</translation>
    </message>
    <message>
        <source>Response length (tokens)</source>
        <translation>Longitud de respuesta (tokens)</translation>
    </message>
    <message>
        <source>Illegal-item rates</source>
        <translation>Tasas de ítems ilegales</translation>
    </message>
    <message>
        <source>non-existent</source>
        <translation>inexistente</translation>
    </message>
    <message>
        <source>duplicate</source>
        <translation>duplicado</translation>
    </message>
    <message>
        <source>in history</source>
        <translation>en el historial</translation>
    </message>
    <message>
        <source>beyond k</source>
        <translation>más allá de k</translation>
    </message>
    <message>
        <source>SFT validation</source>
        <translation>Validación SFT</translation>
    </message>
    <message>
        <source>PPO validation list reward</source>
        <translation>Recompensa de lista en validación PPO</translation>
    </message>
    <message>
        <source>Teacher validation NDCG@10</source>
        <translation>NDCG@10 del maestro en validación</translation>
    </message>
    <message>
        <source>full ranking</source>
        <translation>ranking completo</translation>
    </message>
    <message>
        <source>sampled</source>
        <translation>muestreado</translation>
    </message>
    <message>
        <source>#%1 %2 · %3 (live)</source>
        <translation>#%1 %2 · %3 (en vivo)</translation>
    </message>
    <message>
        <source>%1 · %2 (live)</source>
        <translation>%1 · %2 (en vivo)</translation>
    </message>
    <message>
        <source>#%1 %2 · %3</source>
        <translation>#%1 %2 · %3</translation>
    </message>
    <message>
        <source>Data</source>
        <translation>Datos</translation>
    </message>
    <message>
        <source>Pre-training</source>
        <translation>Preentrenamiento</translation>
    </message>
    <message>
        <source>Teacher</source>
        <translation>Maestro</translation>
    </message>
    <message>
        <source>SFT</source>
        <translation>SFT</translation>
    </message>
    <message>
        <source>PPO</source>
        <translation>PPO</translation>
    </message>
    <message>
        <source>Evaluation</source>
        <translation>Evaluación</translation>
    </message>
    <message>
        <source>All stages</source>
        <translation>Todas las etapas</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1 (all)</source>
        <translation>%1 (todas)</translation>
    </message>
    <message>
        <source>group %1</source>
        <translation>grupo %1</translation>
    </message>
    <message>
        <source>(reused from %1)</source>
        <translation>(reutilizada de %1)</translation>
    </message>
    <message>
        <source>n=%1, mean, min–max</source>
        <translation>n=%1, media, mín–máx</translation>
    </message>
    <message>
        <source>n=%1, mean ± std</source>
        <translation>n=%1, media ± desv.</translation>
    </message>
    <message>
        <source>%1 · %2 (%3)</source>
        <translation>%1 · %2 (%3)</translation>
    </message>
    <message>
        <source>Group reward std</source>
        <translation>Desviación típica de la recompensa por grupo</translation>
    </message>
    <message>
        <source>Groups with zero reward std</source>
        <translation>Grupos con desviación típica de recompensa nula</translation>
    </message>
    <message>
        <source>KL loss term (k3)</source>
        <translation>Término KL de la pérdida (k3)</translation>
    </message>
    <message>
        <source>Preference rewards (β log-ratio)</source>
        <translation>Recompensas de preferencia (β · log-cociente)</translation>
    </message>
    <message>
        <source>chosen</source>
        <translation>elegida</translation>
    </message>
    <message>
        <source>rejected</source>
        <translation>rechazada</translation>
    </message>
    <message>
        <source>margin</source>
        <translation>margen</translation>
    </message>
    <message>
        <source>Preference accuracy</source>
        <translation>Precisión de preferencia</translation>
    </message>
    <message>
        <source>RL (GRPO, RLOO, REINFORCE++ rows)</source>
        <translation>RL (filas GRPO, RLOO, REINFORCE++)</translation>
    </message>
    <message>
        <source>DPO / S-DPO</source>
        <translation>DPO / S-DPO</translation>
    </message>
</context>
<context>
    <name>recalign::studio::MonitorPage</name>
    <message>
        <source>Clear charts</source>
        <translation>Vaciar gráficos</translation>
    </message>
    <message>
        <source>Remove every run from the charts</source>
        <translation>Quita todas las ejecuciones de los gráficos</translation>
    </message>
    <message>
        <source>Log</source>
        <translation>Registro</translation>
    </message>
    <message>
        <source>Clear the log</source>
        <translation>Vaciar el registro</translation>
    </message>
    <message>
        <source>Select runs in the Runs panel, or start one from Configure.</source>
        <translation>Seleccione ejecuciones en el panel Ejecuciones o inicie una desde Configurar.</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>Exportar CSV…</translation>
    </message>
    <message>
        <source>Save the data of every visible chart as one CSV file</source>
        <translation>Guardar los datos de todos los gráficos visibles en un archivo CSV</translation>
    </message>
    <message>
        <source>Export visible charts as CSV</source>
        <translation>Exportar los gráficos visibles como CSV</translation>
    </message>
    <message>
        <source>charts.csv</source>
        <translation>graficos.csv</translation>
    </message>
    <message>
        <source>CSV file (*.csv)</source>
        <translation>Archivo CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export CSV</source>
        <translation>Exportar CSV</translation>
    </message>
    <message>
        <source>Could not write %1.</source>
        <translation>No se pudo escribir %1.</translation>
    </message>
</context>
<context>
    <name>recalign::studio::ProbePage</name>
    <message>
        <source>Checkpoint</source>
        <translation>Punto de control</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Ejecución</translation>
    </message>
    <message>
        <source>Variant</source>
        <translation>Variante</translation>
    </message>
    <message>
        <source>Compare with a second checkpoint</source>
        <translation>Comparar con un segundo punto de control</translation>
    </message>
    <message>
        <source>Second run</source>
        <translation>Segunda ejecución</translation>
    </message>
    <message>
        <source>Second variant</source>
        <translation>Segunda variante</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modelo</translation>
    </message>
    <message>
        <source>The run&apos;s base model</source>
        <translation>El modelo base de la ejecución</translation>
    </message>
    <message>
        <source>A llama2.c file, a Hugging Face folder or a run&apos;s fine-tuned model folder</source>
        <translation>Un archivo llama2.c, una carpeta de Hugging Face o la carpeta del modelo ajustado de una ejecución</translation>
    </message>
    <message>
        <source>Adapters</source>
        <translation>Adaptadores</translation>
    </message>
    <message>
        <source>None</source>
        <translation>Ninguno</translation>
    </message>
    <message>
        <source>PEFT adapter folders or kept trainer states, comma-separated; all but the last are stacked beneath the last</source>
        <translation>Carpetas de adaptadores PEFT o estados de entrenamiento guardados, separados por comas; todos menos el último se apilan bajo el último</translation>
    </message>
    <message>
        <source>Adapter folder</source>
        <translation>Carpeta del adaptador</translation>
    </message>
    <message>
        <source>Model folder</source>
        <translation>Carpeta del modelo</translation>
    </message>
    <message>
        <source>Add an adapter folder</source>
        <translation>Añadir una carpeta de adaptador</translation>
    </message>
    <message>
        <source>Choose a model folder</source>
        <translation>Elegir una carpeta de modelo</translation>
    </message>
    <message>
        <source>%1 · best state (iteration %2)</source>
        <translation>%1 · mejor estado (iteración %2)</translation>
    </message>
    <message>
        <source>%1 · latest state (iteration %2)</source>
        <translation>%1 · último estado (iteración %2)</translation>
    </message>
    <message>
        <source>%1 · latest state (step %2)</source>
        <translation>%1 · último estado (paso %2)</translation>
    </message>
    <message>
        <source>Other model or adapters…</source>
        <translation>Otro modelo o adaptadores…</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Dataset user</source>
        <translation>Usuario del conjunto de datos</translation>
    </message>
    <message>
        <source>The user&apos;s test history is the prompt&apos;s history</source>
        <translation>El historial de prueba del usuario es el historial del prompt</translation>
    </message>
    <message>
        <source>Typed history</source>
        <translation>Historial escrito</translation>
    </message>
    <message>
        <source>Task</source>
        <translation>Tarea</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>Categoría</translation>
    </message>
    <message>
        <source>Proportion</source>
        <translation>Proporción</translation>
    </message>
    <message>
        <source>Items (k)</source>
        <translation>Ítems (k)</translation>
    </message>
    <message>
        <source>Instruction</source>
        <translation>Instrucción</translation>
    </message>
    <message>
        <source>Your own instruction (free-text task)</source>
        <translation>Su propia instrucción (tarea de texto libre)</translation>
    </message>
    <message>
        <source>I0 · next items</source>
        <translation>I0 · siguientes ítems</translation>
    </message>
    <message>
        <source>I1 +C · items of a category</source>
        <translation>I1 +C · ítems de una categoría</translation>
    </message>
    <message>
        <source>I1 −C · no items of a category</source>
        <translation>I1 −C · ningún ítem de una categoría</translation>
    </message>
    <message>
        <source>I2 · at most a proportion of C</source>
        <translation>I2 · como máximo una proporción de C</translation>
    </message>
    <message>
        <source>I2 · at least a proportion of C</source>
        <translation>I2 · como mínimo una proporción de C</translation>
    </message>
    <message>
        <source>I2 · about a proportion of C</source>
        <translation>I2 · aproximadamente una proporción de C</translation>
    </message>
    <message>
        <source>I3 · item search in a category</source>
        <translation>I3 · búsqueda de ítems en una categoría</translation>
    </message>
    <message>
        <source>Free text</source>
        <translation>Texto libre</translation>
    </message>
    <message>
        <source>Decoding</source>
        <translation>Decodificación</translation>
    </message>
    <message>
        <source>Strategy</source>
        <translation>Estrategia</translation>
    </message>
    <message>
        <source>Greedy</source>
        <translation>Voraz</translation>
    </message>
    <message>
        <source>Temperature sampling</source>
        <translation>Muestreo con temperatura</translation>
    </message>
    <message>
        <source>Top-k sampling</source>
        <translation>Muestreo top-k</translation>
    </message>
    <message>
        <source>Top-p (nucleus) sampling</source>
        <translation>Muestreo top-p (núcleo)</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatura</translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation>Top-k</translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation>Top-p</translation>
    </message>
    <message>
        <source>Constrained to catalogue titles</source>
        <translation>Restringido a títulos del catálogo</translation>
    </message>
    <message>
        <source>Decode through a trie of the catalogue&apos;s titles, so every item exists</source>
        <translation>Decodifica a través de un trie de los títulos del catálogo, de modo que todo ítem existe</translation>
    </message>
    <message>
        <source>Max new tokens</source>
        <translation>Máximo de tokens nuevos</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Semilla</translation>
    </message>
    <message>
        <source>Generate</source>
        <translation>Generar</translation>
    </message>
    <message>
        <source>Run the prompt through the checkpoint(s) in a worker thread (Ctrl+Return)</source>
        <translation>Ejecuta el prompt con el o los puntos de control en un hilo de trabajo (Ctrl+Intro)</translation>
    </message>
    <message>
        <source>No finished run in this workspace yet.</source>
        <translation>Aún no hay ninguna ejecución terminada en este espacio de trabajo.</translation>
    </message>
    <message>
        <source>Run %1: %2</source>
        <translation>Ejecución %1: %2</translation>
    </message>
    <message>
        <source>%1 · %2</source>
        <translation>%1 · %2</translation>
    </message>
    <message>
        <source>Generating in a worker thread…</source>
        <translation>Generando en un hilo de trabajo…</translation>
    </message>
</context>
<context>
    <name>recalign::studio::ProbeResultView</name>
    <message>
        <source>Parsed list</source>
        <translation>Lista analizada</translation>
    </message>
    <message>
        <source>Per-token log-probabilities</source>
        <translation>Log-probabilidades por token</translation>
    </message>
    <message>
        <source>Reward breakdown</source>
        <translation>Desglose de la recompensa</translation>
    </message>
    <message>
        <source>Raw output</source>
        <translation>Salida sin procesar</translation>
    </message>
    <message>
        <source>Prompt</source>
        <translation>Prompt</translation>
    </message>
    <message>
        <source>Press Generate to run the prompt through this checkpoint.</source>
        <translation>Pulse Generar para ejecutar el prompt con este punto de control.</translation>
    </message>
    <message>
        <source>Generating…</source>
        <translation>Generando…</translation>
    </message>
    <message>
        <source>Failed: %1</source>
        <translation>Falló: %1</translation>
    </message>
    <message numerus="yes">
        <source>%n item(s)</source>
        <translation>
            <numerusform>%n ítem</numerusform>
            <numerusform>%n ítems</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n illegal</source>
        <translation>
            <numerusform>%n ilegal</numerusform>
            <numerusform>%n ilegales</numerusform>
        </translation>
    </message>
    <message>
        <source>list reward %1</source>
        <translation>recompensa de lista %1</translation>
    </message>
    <message numerus="yes">
        <source>%n token(s), perplexity %1</source>
        <translation>
            <numerusform>%n token, perplejidad %1</numerusform>
            <numerusform>%n tokens, perplejidad %1</numerusform>
        </translation>
    </message>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>R_list (total)</source>
        <translation>R_list (total)</translation>
    </message>
</context>
<context>
    <name>recalign::studio::RunListModel</name>
    <message>
        <source>%1 s</source>
        <translation>%1 s</translation>
    </message>
    <message>
        <source>%1 min %2 s</source>
        <translation>%1 min %2 s</translation>
    </message>
    <message>
        <source>%1 h %2 min</source>
        <translation>%1 h %2 min</translation>
    </message>
    <message>
        <source>(no experiment)</source>
        <translation>(sin experimento)</translation>
    </message>
    <message numerus="yes">
        <source>%n run(s)</source>
        <translation>
            <numerusform>%n ejecución</numerusform>
            <numerusform>%n ejecuciones</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n running</source>
        <translation>
            <numerusform>%n en curso</numerusform>
            <numerusform>%n en curso</numerusform>
        </translation>
    </message>
    <message>
        <source>#%1  %2</source>
        <translation>#%1  %2</translation>
    </message>
    <message>
        <source>Run %1 · %2
Seed %3 · device %4 · config %5</source>
        <translation>Ejecución %1 · %2
Semilla %3 · dispositivo %4 · configuración %5</translation>
    </message>
    <message>
        <source>
Commit %1%2</source>
        <translation>
Commit %1%2</translation>
    </message>
    <message>
        <source> (uncommitted changes)</source>
        <translation> (cambios sin confirmar)</translation>
    </message>
    <message>
        <source>
Resumes run %1</source>
        <translation>
Reanuda la ejecución %1</translation>
    </message>
    <message>
        <source>
Error: %1</source>
        <translation>
Error: %1</translation>
    </message>
    <message>
        <source>Run</source>
        <translation>Ejecución</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Inicio</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duración</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Semilla</translation>
    </message>
    <message>
        <source>
Started %1</source>
        <translation>
Iniciada el %1</translation>
    </message>
</context>
<context>
    <name>recalign::studio::RunsDock</name>
    <message numerus="yes">
        <source>%n run(s)</source>
        <translation>
            <numerusform>%n ejecución</numerusform>
            <numerusform>%n ejecuciones</numerusform>
        </translation>
    </message>
    <message>
        <source>Runs</source>
        <translation>Ejecuciones</translation>
    </message>
    <message>
        <source>Filter runs (name, status, date)…</source>
        <translation>Filtrar ejecuciones (nombre, estado, fecha)…</translation>
    </message>
    <message>
        <source>&amp;Open in Monitor</source>
        <translation>&amp;Abrir en Monitor</translation>
    </message>
    <message>
        <source>&amp;Resume</source>
        <translation>&amp;Reanudar</translation>
    </message>
    <message>
        <source>Continue the run from its last checkpoints</source>
        <translation>Continúa la ejecución desde sus últimos puntos de control</translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation>&amp;Cancelar</translation>
    </message>
    <message>
        <source>&amp;Delete…</source>
        <translation>&amp;Eliminar…</translation>
    </message>
    <message>
        <source>Reveal &amp;files</source>
        <translation>Mostrar &amp;archivos</translation>
    </message>
    <message>
        <source>Workspace folder</source>
        <translation>Carpeta del espacio de trabajo</translation>
    </message>
    <message>
        <source>Resume run</source>
        <translation>Reanudar ejecución</translation>
    </message>
    <message>
        <source>Run %1 queued to resume.</source>
        <translation>Ejecución %1 en cola para reanudarse.</translation>
    </message>
    <message>
        <source>Cancelling run %1…</source>
        <translation>Cancelando la ejecución %1…</translation>
    </message>
    <message>
        <source>Delete runs</source>
        <translation>Eliminar ejecuciones</translation>
    </message>
    <message numerus="yes">
        <source>Delete %n run(s) (%1) with their metrics, results and samples from the store? Stage outputs on disk are kept (other runs may share them).</source>
        <translation>
            <numerusform>¿Eliminar %n ejecución (%1) del almacén con sus métricas, resultados y muestras? Las salidas de etapas en disco se conservan (otras ejecuciones pueden compartirlas).</numerusform>
            <numerusform>¿Eliminar %n ejecuciones (%1) del almacén con sus métricas, resultados y muestras? Las salidas de etapas en disco se conservan (otras ejecuciones pueden compartirlas).</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>recalign::studio::SettingsDialog</name>
    <message>
        <source>Settings</source>
        <translation>Ajustes</translation>
    </message>
    <message>
        <source>Light</source>
        <translation>Claro</translation>
    </message>
    <message>
        <source>Dark</source>
        <translation>Oscuro</translation>
    </message>
    <message>
        <source>Threads for training and generation, given either to torch or to OpenBLAS by the model&apos;s width and compute dtype. One on a two-core machine keeps a core free for the window.</source>
        <translation>Hilos para entrenamiento y generación, asignados a torch o a OpenBLAS según el ancho del modelo y el tipo de cálculo. Uno en una máquina de dos núcleos deja un núcleo libre para la ventana.</translation>
    </message>
    <message>
        <source>Language</source>
        <translation>Idioma</translation>
    </message>
    <message>
        <source>Theme</source>
        <translation>Tema</translation>
    </message>
    <message>
        <source>Compute threads</source>
        <translation>Hilos de cálculo</translation>
    </message>
    <message>
        <source>Threads take effect the next time RecAlign Studio starts (%1 cores here; default %2).</source>
        <translation>Los hilos se aplican la próxima vez que se inicie RecAlign Studio (%1 núcleos aquí; por defecto %2).</translation>
    </message>
    <message>
        <source>Data-parallel processes per run: more than one runs the experiment as that many processes of the recalign CLI (each with its share of the cores), followed here through the run store. Applies to the next run.</source>
        <translation>Procesos de paralelismo de datos por ejecución: con más de uno, el experimento se ejecuta como otros tantos procesos de la CLI recalign (cada uno con su parte de los núcleos), seguidos aquí a través del almacén de ejecuciones. Se aplica a la próxima ejecución.</translation>
    </message>
    <message>
        <source>Processes per run</source>
        <translation>Procesos por ejecución</translation>
    </message>
</context>
<context>
    <name>recalign::studio::StudioController</name>
    <message>
        <source>A run is in progress; cancel it or wait before switching workspaces.</source>
        <translation>Hay una ejecución en curso; cancélela o espere antes de cambiar de espacio de trabajo.</translation>
    </message>
    <message>
        <source>Open a workspace first.</source>
        <translation>Abra primero un espacio de trabajo.</translation>
    </message>
    <message>
        <source>The experiment file %1 does not exist.</source>
        <translation>El archivo de experimento %1 no existe.</translation>
    </message>
    <message>
        <source>Run %1 is not in this workspace.</source>
        <translation>La ejecución %1 no está en este espacio de trabajo.</translation>
    </message>
    <message>
        <source>Run %1 is still running.</source>
        <translation>La ejecución %1 sigue en curso.</translation>
    </message>
    <message>
        <source>Run %1 has no experiment file or recorded configuration to resume from.</source>
        <translation>La ejecución %1 no tiene archivo de experimento ni configuración registrada desde la que reanudar.</translation>
    </message>
    <message>
        <source>Cannot write %1</source>
        <translation>No se puede escribir %1</translation>
    </message>
    <message>
        <source>resume run %1</source>
        <translation>reanudar ejecución %1</translation>
    </message>
    <message>
        <source>Run %1 is running; cancel it before deleting it.</source>
        <translation>La ejecución %1 está en curso; cancélela antes de eliminarla.</translation>
    </message>
    <message>
        <source>Run &quot;%1&quot; failed</source>
        <translation>La ejecución «%1» falló</translation>
    </message>
    <message>
        <source>%1 error: %2</source>
        <translation>error de %1: %2</translation>
    </message>
</context>
<context>
    <name>recalign::studio::Workspace</name>
    <message>
        <source>Cannot create the workspace folder %1</source>
        <translation>No se puede crear la carpeta del espacio de trabajo %1</translation>
    </message>
    <message>
        <source>Cannot open the run store of %1: %2</source>
        <translation>No se puede abrir el almacén de ejecuciones de %1: %2</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::AblationModel</name>
    <message>
        <source>No result for %1 on %2</source>
        <translation>Sin resultado para %1 en %2</translation>
    </message>
    <message>
        <source>%1 · %2 (%3)
value %4
n = %5</source>
        <translation>%1 · %2 (%3)
valor %4
n = %5</translation>
    </message>
    <message>
        <source>standard error %1</source>
        <translation>error estándar %1</translation>
    </message>
    <message>
        <source>lower is better</source>
        <translation>menor es mejor</translation>
    </message>
    <message>
        <source>higher is better</source>
        <translation>mayor es mejor</translation>
    </message>
    <message>
        <source>best in column</source>
        <translation>mejor de la columna</translation>
    </message>
    <message>
        <source>second best in column</source>
        <translation>segundo mejor de la columna</translation>
    </message>
    <message>
        <source>%1 on task %2; %3</source>
        <translation>%1 en la tarea %2; %3</translation>
    </message>
    <message>
        <source>mean of %1 seeds, sample std %2</source>
        <translation>media de %1 semillas, desviación muestral %2</translation>
    </message>
    <message>
        <source>† significant: %1</source>
        <translation>† significativo: %1</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::AblationTable</name>
    <message>
        <source>± standard error</source>
        <translation>± error estándar</translation>
    </message>
    <message>
        <source>Bar chart</source>
        <translation>Gráfico de barras</translation>
    </message>
    <message>
        <source>LaTeX (booktabs)</source>
        <translation>LaTeX (booktabs)</translation>
    </message>
    <message>
        <source>Markdown</source>
        <translation>Markdown</translation>
    </message>
    <message>
        <source>CSV</source>
        <translation>CSV</translation>
    </message>
    <message>
        <source>Copy</source>
        <translation>Copiar</translation>
    </message>
    <message>
        <source>Copy the table to the clipboard in the chosen format</source>
        <translation>Copia la tabla al portapapeles en el formato elegido</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>Exportar…</translation>
    </message>
    <message>
        <source>Save the table as CSV, LaTeX or Markdown (same output as `recalign export`)</source>
        <translation>Guarda la tabla como CSV, LaTeX o Markdown (la misma salida que `recalign export`)</translation>
    </message>
    <message>
        <source> (lower is better)</source>
        <translation> (menor es mejor)</translation>
    </message>
    <message>
        <source> (higher is better)</source>
        <translation> (mayor es mejor)</translation>
    </message>
    <message>
        <source>Export table</source>
        <translation>Exportar tabla</translation>
    </message>
    <message>
        <source>LaTeX (*.tex);;Markdown (*.md);;CSV (*.csv)</source>
        <translation>LaTeX (*.tex);;Markdown (*.md);;CSV (*.csv)</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::ConfigForm</name>
    <message>
        <source>Filter fields by name or description…</source>
        <translation>Filtrar campos por nombre o descripción…</translation>
    </message>
    <message>
        <source>Experiment</source>
        <translation>Experimento</translation>
    </message>
    <message>
        <source>Dataset</source>
        <translation>Conjunto de datos</translation>
    </message>
    <message>
        <source>SASRec teacher</source>
        <translation>Maestro SASRec</translation>
    </message>
    <message>
        <source>Language model</source>
        <translation>Modelo de lenguaje</translation>
    </message>
    <message>
        <source>Tokenizer</source>
        <translation>Tokenizador</translation>
    </message>
    <message>
        <source>Supervised fine-tuning</source>
        <translation>Ajuste fino supervisado</translation>
    </message>
    <message>
        <source>PPO</source>
        <translation>PPO</translation>
    </message>
    <message>
        <source>Reward</source>
        <translation>Recompensa</translation>
    </message>
    <message>
        <source>Evaluation</source>
        <translation>Evaluación</translation>
    </message>
    <message>
        <source>Probe</source>
        <translation>Sonda</translation>
    </message>
    <message>
        <source>default: %1</source>
        <translation>por defecto: %1</translation>
    </message>
    <message>
        <source>range: %1 … %2</source>
        <translation>rango: %1 … %2</translation>
    </message>
    <message>
        <source>Choose a file</source>
        <translation>Elegir un archivo</translation>
    </message>
    <message>
        <source>Choose a folder</source>
        <translation>Elegir una carpeta</translation>
    </message>
    <message>
        <source>Choose a file…</source>
        <translation>Elegir un archivo…</translation>
    </message>
    <message>
        <source>Choose a folder…</source>
        <translation>Elegir una carpeta…</translation>
    </message>
    <message>
        <source>comma-separated, e.g. %1</source>
        <translation>separados por comas, p. ej. %1</translation>
    </message>
    <message>
        <source>%1 (line %2)</source>
        <translation>%1 (línea %2)</translation>
    </message>
    <message>
        <source>This section has fields with problems</source>
        <translation>Esta sección tiene campos con problemas</translation>
    </message>
    <message>
        <source>DPO / S-DPO</source>
        <translation>DPO / S-DPO</translation>
    </message>
    <message>
        <source>Distributed</source>
        <translation>Distribuido</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::HistoryEditor</name>
    <message>
        <source>History (oldest first)</source>
        <translation>Historial (del más antiguo al más reciente)</translation>
    </message>
    <message>
        <source>Type a title from the catalogue…</source>
        <translation>Escriba un título del catálogo…</translation>
    </message>
    <message>
        <source>Add to the history</source>
        <translation>Añadir al historial</translation>
    </message>
    <message>
        <source>Move up (earlier)</source>
        <translation>Subir (antes)</translation>
    </message>
    <message>
        <source>Move down (later)</source>
        <translation>Bajar (después)</translation>
    </message>
    <message>
        <source>Remove the selected title</source>
        <translation>Quitar el título seleccionado</translation>
    </message>
    <message>
        <source>Clear the history</source>
        <translation>Vaciar el historial</translation>
    </message>
    <message>
        <source>&quot;%1&quot; is not in the catalogue.</source>
        <translation>«%1» no está en el catálogo.</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::MetricDashboard</name>
    <message>
        <source>SFT loss</source>
        <translation>Pérdida SFT</translation>
    </message>
    <message>
        <source>Learning rate</source>
        <translation>Tasa de aprendizaje</translation>
    </message>
    <message>
        <source>Reward (total)</source>
        <translation>Recompensa (total)</translation>
    </message>
    <message>
        <source>Item reward</source>
        <translation>Recompensa por ítem</translation>
    </message>
    <message>
        <source>List reward</source>
        <translation>Recompensa de lista</translation>
    </message>
    <message>
        <source>KL divergence</source>
        <translation>Divergencia KL</translation>
    </message>
    <message>
        <source>KL coefficient β</source>
        <translation>Coeficiente KL β</translation>
    </message>
    <message>
        <source>Clip fraction</source>
        <translation>Fracción recortada</translation>
    </message>
    <message>
        <source>Entropy</source>
        <translation>Entropía</translation>
    </message>
    <message>
        <source>Value loss</source>
        <translation>Pérdida de valor</translation>
    </message>
    <message>
        <source>Explained variance</source>
        <translation>Varianza explicada</translation>
    </message>
    <message>
        <source>Response length (tokens)</source>
        <translation>Longitud de respuesta (tokens)</translation>
    </message>
    <message>
        <source>Illegal-item rates</source>
        <translation>Tasas de ítems ilegales</translation>
    </message>
    <message>
        <source>non-existent</source>
        <translation>inexistente</translation>
    </message>
    <message>
        <source>duplicate</source>
        <translation>duplicado</translation>
    </message>
    <message>
        <source>in history</source>
        <translation>en el historial</translation>
    </message>
    <message>
        <source>beyond k</source>
        <translation>más allá de k</translation>
    </message>
    <message>
        <source>Smoothing</source>
        <translation>Suavizado</translation>
    </message>
    <message>
        <source>Exponential moving average with TensorBoard&apos;s debiasing; 0 shows the raw values</source>
        <translation>Media móvil exponencial con la corrección de sesgo de TensorBoard; 0 muestra los valores sin suavizar</translation>
    </message>
    <message>
        <source>X-axis</source>
        <translation>Eje X</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Paso</translation>
    </message>
    <message>
        <source>Relative time</source>
        <translation>Tiempo relativo</translation>
    </message>
    <message>
        <source>Wall time</source>
        <translation>Hora real</translation>
    </message>
    <message>
        <source>Raw curves</source>
        <translation>Curvas sin suavizar</translation>
    </message>
    <message>
        <source>Draw the unsmoothed values faded under each smoothed curve</source>
        <translation>Dibuja los valores sin suavizar, atenuados, bajo cada curva suavizada</translation>
    </message>
    <message>
        <source>Ignore outliers</source>
        <translation>Ignorar valores atípicos</translation>
    </message>
    <message>
        <source>Fit the y-axis to the 5th–95th percentile of the visible values</source>
        <translation>Ajusta el eje Y a los percentiles 5–95 de los valores visibles</translation>
    </message>
    <message>
        <source>Hide empty charts</source>
        <translation>Ocultar gráficos vacíos</translation>
    </message>
    <message>
        <source>Seeds</source>
        <translation>Semillas</translation>
    </message>
    <message>
        <source>How a seed group (one experiment run with several seeds) is drawn</source>
        <translation>Cómo se dibuja un grupo de semillas (un experimento ejecutado con varias semillas)</translation>
    </message>
    <message>
        <source>One line per run</source>
        <translation>Una línea por ejecución</translation>
    </message>
    <message>
        <source>Mean, min–max band</source>
        <translation>Media, banda mín–máx</translation>
    </message>
    <message>
        <source>Mean ± 1 std band</source>
        <translation>Media, banda ± 1 desv.</translation>
    </message>
    <message>
        <source>Stages</source>
        <translation>Etapas</translation>
    </message>
    <message>
        <source>Show only the series of some pipeline stages</source>
        <translation>Mostrar solo las series de algunas etapas del proceso</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::MetricPlot</name>
    <message>
        <source>step</source>
        <translation>paso</translation>
    </message>
    <message>
        <source>relative time (h:m:s)</source>
        <translation>tiempo relativo (h:m:s)</translation>
    </message>
    <message>
        <source>step %1</source>
        <translation>paso %1</translation>
    </message>
    <message>
        <source>%1:%2:%3 elapsed</source>
        <translation>%1:%2:%3 transcurrido</translation>
    </message>
    <message>
        <source>%1
%2
smoothed %3   raw %4</source>
        <translation>%1
%2
suavizado %3   sin suavizar %4</translation>
    </message>
    <message>
        <source>Exported from RecAlign Studio</source>
        <translation>Exportado desde RecAlign Studio</translation>
    </message>
    <message>
        <source>Export chart</source>
        <translation>Exportar gráfico</translation>
    </message>
    <message>
        <source>chart</source>
        <translation>gráfico</translation>
    </message>
    <message>
        <source>PNG image (*.png);;PDF document (*.pdf);;SVG image (*.svg)</source>
        <translation>Imagen PNG (*.png);;Documento PDF (*.pdf);;Imagen SVG (*.svg)</translation>
    </message>
    <message>
        <source>Reset view</source>
        <translation>Restablecer vista</translation>
    </message>
    <message>
        <source>Logarithmic y-axis</source>
        <translation>Eje Y logarítmico</translation>
    </message>
    <message>
        <source>Show raw curves</source>
        <translation>Mostrar curvas sin suavizar</translation>
    </message>
    <message>
        <source>Ignore outliers in y-range</source>
        <translation>Ignorar valores atípicos en el rango Y</translation>
    </message>
    <message>
        <source>Copy image</source>
        <translation>Copiar imagen</translation>
    </message>
    <message>
        <source>Export image…</source>
        <translation>Exportar imagen…</translation>
    </message>
    <message>
        <source>min–max %1 … %2   n=%3</source>
        <translation>mín–máx %1 … %2   n=%3</translation>
    </message>
    <message>
        <source>±1 std %1 … %2   n=%3</source>
        <translation>±1 desv. %1 … %2   n=%3</translation>
    </message>
    <message>
        <source>Export chart data</source>
        <translation>Exportar los datos del gráfico</translation>
    </message>
    <message>
        <source>CSV file (*.csv)</source>
        <translation>Archivo CSV (*.csv)</translation>
    </message>
    <message>
        <source>Export data as CSV…</source>
        <translation>Exportar datos como CSV…</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::RunsTable</name>
    <message>
        <source>No final metrics yet</source>
        <translation>Aún no hay métricas finales</translation>
    </message>
    <message numerus="yes">
        <source>%n run(s)</source>
        <translation>
            <numerusform>%n ejecución</numerusform>
            <numerusform>%n ejecuciones</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%1 of %n run(s)</source>
        <translation>
            <numerusform>%1 de %n ejecución</numerusform>
            <numerusform>%1 de %n ejecuciones</numerusform>
        </translation>
    </message>
    <message>
        <source>Filter runs (any column)</source>
        <translation>Filtrar ejecuciones (cualquier columna)</translation>
    </message>
    <message>
        <source>Metrics</source>
        <translation>Métricas</translation>
    </message>
    <message>
        <source>Choose the final metrics shown as columns</source>
        <translation>Elegir las métricas finales que se muestran como columnas</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::RunsTableModel</name>
    <message>
        <source>Run</source>
        <translation>Ejecución</translation>
    </message>
    <message>
        <source>Name</source>
        <translation>Nombre</translation>
    </message>
    <message>
        <source>Group</source>
        <translation>Grupo</translation>
    </message>
    <message>
        <source>Seed</source>
        <translation>Semilla</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Configuration: %1</source>
        <translation>Configuración: %1</translation>
    </message>
    <message>
        <source>Final metric: %1</source>
        <translation>Métrica final: %1</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::SampleItemsModel</name>
    <message>
        <source>legal</source>
        <translation>legal</translation>
    </message>
    <message>
        <source>non-existent</source>
        <translation>inexistente</translation>
    </message>
    <message>
        <source>duplicate</source>
        <translation>duplicado</translation>
    </message>
    <message>
        <source>in history</source>
        <translation>en el historial</translation>
    </message>
    <message>
        <source>beyond k</source>
        <translation>más allá de k</translation>
    </message>
    <message>
        <source>in category</source>
        <translation>en la categoría</translation>
    </message>
    <message>
        <source>out of category</source>
        <translation>fuera de la categoría</translation>
    </message>
    <message>
        <source>The held-out next item: a hit</source>
        <translation>El siguiente ítem reservado: un acierto</translation>
    </message>
    <message>
        <source>Rank of this item in the SASRec teacher&apos;s scores over the catalogue (1 = the teacher&apos;s top choice)</source>
        <translation>Posición de este ítem en las puntuaciones del maestro SASRec sobre el catálogo (1 = la primera opción del maestro)</translation>
    </message>
    <message>
        <source>Position %1 is beyond the requested k = %2</source>
        <translation>La posición %1 está más allá del k = %2 solicitado</translation>
    </message>
    <message>
        <source>Generated item</source>
        <translation>Ítem generado</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Estado</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>Categoría</translation>
    </message>
    <message>
        <source>SASRec rank</source>
        <translation>Posición SASRec</translation>
    </message>
    <message>
        <source>Item reward</source>
        <translation>Recompensa por ítem</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::SampleListModel</name>
    <message>
        <source>hit</source>
        <translation>acierto</translation>
    </message>
    <message>
        <source>Task</source>
        <translation>Tarea</translation>
    </message>
    <message>
        <source>Variant</source>
        <translation>Variante</translation>
    </message>
    <message>
        <source>User</source>
        <translation>Usuario</translation>
    </message>
    <message>
        <source>k</source>
        <translation>k</translation>
    </message>
    <message>
        <source>Items</source>
        <translation>Ítems</translation>
    </message>
    <message>
        <source>Hit</source>
        <translation>Acierto</translation>
    </message>
    <message>
        <source>Illegal</source>
        <translation>Ilegales</translation>
    </message>
    <message>
        <source>List reward</source>
        <translation>Recompensa de lista</translation>
    </message>
    <message>
        <source>Instruction</source>
        <translation>Instrucción</translation>
    </message>
</context>
<context>
    <name>recalign::widgets::SampleListView</name>
    <message>
        <source>Task</source>
        <translation>Tarea</translation>
    </message>
    <message>
        <source>Variant</source>
        <translation>Variante</translation>
    </message>
    <message>
        <source>Hits and misses</source>
        <translation>Aciertos y fallos</translation>
    </message>
    <message>
        <source>Hits only</source>
        <translation>Solo aciertos</translation>
    </message>
    <message>
        <source>Misses only</source>
        <translation>Solo fallos</translation>
    </message>
    <message>
        <source>Any legality</source>
        <translation>Cualquier legalidad</translation>
    </message>
    <message>
        <source>All items legal</source>
        <translation>Todos los ítems legales</translation>
    </message>
    <message>
        <source>Any illegal item</source>
        <translation>Algún ítem ilegal</translation>
    </message>
    <message>
        <source>Non-existent items</source>
        <translation>Ítems inexistentes</translation>
    </message>
    <message>
        <source>Duplicates</source>
        <translation>Duplicados</translation>
    </message>
    <message>
        <source>Items from the history</source>
        <translation>Ítems del historial</translation>
    </message>
    <message>
        <source>Items beyond k</source>
        <translation>Ítems más allá de k</translation>
    </message>
    <message>
        <source>Search titles, instructions, outputs…</source>
        <translation>Buscar títulos, instrucciones, salidas…</translation>
    </message>
    <message>
        <source>Instruction</source>
        <translation>Instrucción</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historial</translation>
    </message>
    <message>
        <source>Generated list</source>
        <translation>Lista generada</translation>
    </message>
    <message>
        <source>List reward</source>
        <translation>Recompensa de lista</translation>
    </message>
    <message>
        <source>Raw output</source>
        <translation>Salida sin procesar</translation>
    </message>
    <message>
        <source>All tasks</source>
        <translation>Todas las tareas</translation>
    </message>
    <message>
        <source>All variants</source>
        <translation>Todas las variantes</translation>
    </message>
    <message>
        <source>&lt;i&gt;Select a sample to see its generated list.&lt;/i&gt;</source>
        <translation>&lt;i&gt;Seleccione una muestra para ver su lista generada.&lt;/i&gt;</translation>
    </message>
    <message>
        <source>user %1</source>
        <translation>usuario %1</translation>
    </message>
    <message>
        <source>target category &lt;b&gt;%1&lt;/b&gt;</source>
        <translation>categoría objetivo &lt;b&gt;%1&lt;/b&gt;</translation>
    </message>
    <message>
        <source>hit</source>
        <translation>acierto</translation>
    </message>
    <message>
        <source>miss</source>
        <translation>fallo</translation>
    </message>
    <message numerus="yes">
        <source>%n illegal item(s)</source>
        <translation>
            <numerusform>%n ítem ilegal</numerusform>
            <numerusform>%n ítems ilegales</numerusform>
        </translation>
    </message>
    <message>
        <source>list reward %1</source>
        <translation>recompensa de lista %1</translation>
    </message>
    <message>
        <source>no list reward</source>
        <translation>sin recompensa de lista</translation>
    </message>
    <message>
        <source>next (held out): &lt;b&gt;%1&lt;/b&gt;</source>
        <translation>siguiente (reservado): &lt;b&gt;%1&lt;/b&gt;</translation>
    </message>
    <message>
        <source>&lt;i&gt;(empty)&lt;/i&gt;</source>
        <translation>&lt;i&gt;(vacío)&lt;/i&gt;</translation>
    </message>
    <message>
        <source>total</source>
        <translation>total</translation>
    </message>
    <message numerus="yes">
        <source>%1 of %n sample(s)</source>
        <translation>
            <numerusform>%1 de %n muestra</numerusform>
            <numerusform>%1 de %n muestras</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>recalign::widgets::TokenHeatStrip</name>
    <message>
        <source>token %1: &quot;%2&quot;
log p = %3   p = %4</source>
        <translation>token %1: «%2»
log p = %3   p = %4</translation>
    </message>
    <message>
        <source>p ≤ 0.001 … p = 1</source>
        <translation>p ≤ 0,001 … p = 1</translation>
    </message>
    <message numerus="yes">
        <source>%n token(s), mean log p %1, perplexity %2</source>
        <translation>
            <numerusform>%n token, log p medio %1, perplejidad %2</numerusform>
            <numerusform>%n tokens, log p medio %1, perplejidad %2</numerusform>
        </translation>
    </message>
</context>
</TS>
